"""What many tests share: a real terminal under tmux (more to come: factories, phone helpers)."""
