// The Rust half of the About panel's licence list.
//   node ui/scripts/rust-licences.mjs about.json   cargo about's JSON → public/licences/rust.json
//   node ui/scripts/rust-licences.mjs --check      fails when Cargo.lock changed since (the
//                                                  suite runs this; scripts/licences.sh fixes it)
// The file records the SHA-256 of Cargo.lock it was made from: any change of a crate or
// a version changes the lock, so a stale list cannot ship unnoticed.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const out = join(root, 'ui', 'public', 'licences', 'rust.json');
const lockHash = createHash('sha256').update(readFileSync(join(root, 'Cargo.lock'))).digest('hex');

if (process.argv[2] === '--check') {
  const made = JSON.parse(readFileSync(out, 'utf8'));
  if (made.cargo_lock_sha256 !== lockHash) {
    console.error(`ui/public/licences/rust.json was made from another Cargo.lock: run scripts/licences.sh`);
    process.exit(1);
  }
  console.log(`licences ok: ${made.licences.reduce((n, l) => n + l.crates.length, 0)} crates under ${made.licences.length} licence texts, from this Cargo.lock`);
  process.exit(0);
}

const about = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const licences = about.licenses
  .map((l) => ({
    id: l.id,
    name: l.name,
    text: l.text.trim(),
    crates: [...new Set(l.used_by.map((u) => `${u.crate.name} ${u.crate.version}`))].sort(),
  }))
  .sort((a, b) => a.id.localeCompare(b.id) || b.crates.length - a.crates.length);
writeFileSync(out, JSON.stringify({ generator: process.argv[3] ?? 'cargo about', cargo_lock_sha256: lockHash, licences }) + '\n');
console.log(`${out}: ${licences.length} licence texts`);
