// The licences of the JavaScript the window ships: every npm package with a module in
// the built bundle (not the dev tools that built it), read from its own package.json
// and licence file, written as dist/licences/js.json for the About panel.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, sep } from 'node:path';

function packageRoot(id) {
  const clean = id.replace(/^\0/, '').split('?')[0];
  const at = clean.lastIndexOf(`${sep}node_modules${sep}`);
  if (at < 0) return null;
  const rest = clean.slice(at + 14).split(sep);
  const depth = rest[0].startsWith('@') ? 2 : 1;
  return join(clean.slice(0, at + 14), ...rest.slice(0, depth));
}

// LICENSE, LICENSE.md, one file per licence of a dual licence (LICENSE-MIT, …), the
// NOTICE an Apache-2.0 package asks to be passed on, and the licences of code it bundles
// (echarts' licenses/ folder).
function licenceText(root) {
  const named = (dir) =>
    readdirSync(dir)
      .filter((f) => /^(licen[cs]e|copying|notice)/i.test(f) && statSync(join(dir, f)).isFile())
      .sort()
      .map((f) => join(dir, f));
  const files = named(root);
  for (const sub of ['licenses', 'licences']) {
    try {
      files.push(...readdirSync(join(root, sub)).sort().map((f) => join(root, sub, f)));
    } catch {
      // no such folder
    }
  }
  return files.map((f) => readFileSync(f, 'utf8').trim()).join('\n\n');
}

export function thirdPartyLicences() {
  return {
    name: 'centredesk-third-party-licences',
    apply: 'build',
    generateBundle(_options, bundle) {
      const roots = new Set();
      for (const out of Object.values(bundle)) {
        for (const id of out.moduleIds ?? Object.keys(out.modules ?? {})) {
          const root = packageRoot(id);
          if (root) roots.add(root);
        }
      }
      // One entry per name and version (a package nested twice is shipped once).
      const byId = new Map();
      for (const root of roots) {
        const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
        byId.set(`${pkg.name}@${pkg.version}`, { name: pkg.name, version: pkg.version, licence: pkg.license ?? '', text: licenceText(root) });
      }
      const packages = [...byId.values()].sort((a, b) => a.name.localeCompare(b.name));
      for (const p of packages) {
        if (!p.licence || !p.text) this.error(`${p.name} ${p.version}: no licence named in its package.json, or no licence file`);
      }
      this.emitFile({ type: 'asset', fileName: 'licences/js.json', source: JSON.stringify({ packages }) });
    },
  };
}
