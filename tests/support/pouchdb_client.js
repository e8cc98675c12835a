// PouchDB's own replicator and client, for the interoperability test.
//   node pouchdb_client.js pull URL        replicate URL into an in-memory PouchDB; print {id: {rev, conflicts}}
//   node pouchdb_client.js write URL JSON  put each document of JSON (a list) with PouchDB's client
const PouchDB = require('pouchdb');
PouchDB.plugin(require('pouchdb-adapter-memory'));

async function main() {
  const [mode, url, payload] = process.argv.slice(2);
  if (mode === 'pull') {
    const local = new PouchDB('copy', {adapter: 'memory'});
    const result = await local.replicate.from(url);
    if (!result.ok) throw new Error('replication failed');
    const all = await local.allDocs({include_docs: true, conflicts: true});
    const out = {};
    for (const row of all.rows) out[row.id] = {rev: row.value.rev, conflicts: row.doc._conflicts || []};
    process.stdout.write(JSON.stringify(out));
  } else if (mode === 'write') {
    const remote = new PouchDB(url);
    for (const change of JSON.parse(payload)) {
      if (change.edit) {  // an edit of an existing document: read it, change it, put it back
        const doc = await remote.get(change.edit);
        Object.assign(doc, change.set);
        if (change.push) for (const [key, item] of Object.entries(change.push)) doc[key].push(item);
        await remote.put(doc);
      } else {
        await remote.put(change.doc);
      }
    }
  } else {
    throw new Error('mode: pull or write');
  }
}
main().catch((err) => { console.error(String(err && err.stack || err)); process.exit(1); });
