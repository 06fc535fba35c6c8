// Regenerates the README's configuration table from the convict schema (run after npm run build).
const fs = require('node:fs');
const path = require('node:path');
const { configDocTable } = require('../dist/agent/src/config');

const readme = path.join(__dirname, '..', 'README.md');
const text = fs.readFileSync(readme, 'utf8');
const start = '<!-- config-table:start -->';
const end = '<!-- config-table:end -->';
const next = text.replace(new RegExp(`${start}[\\s\\S]*${end}`), `${start}\n${configDocTable().trim()}\n${end}`);
fs.writeFileSync(readme, next);
