// Validate a 3D Tiles tileset: its tileset.json and Batched 3D Model tiles, with each tile's
// glTF checked by the Khronos glTF-Validator (npm gltf-validator, the one the official
// 3d-tiles-validator runs on tile content).
//
// usage: node tools/validate_tileset.mjs path/to/tileset.json
// Prints every issue and a closing count; exits 1 when there is any error.
import { readFileSync, existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import validator from "gltf-validator";

const issues = { error: [], warning: [], info: [] };
const report = (severity, where, message) => issues[severity].push(`${where}: ${message}`);

const VOLUME_LENGTHS = { box: 12, region: 6, sphere: 4 };

function checkVolume(volume, where) {
  const kinds = Object.keys(volume || {}).filter((k) => k in VOLUME_LENGTHS);
  if (kinds.length !== 1) return report("error", where, "boundingVolume needs exactly one of box, region, sphere");
  const values = volume[kinds[0]];
  if (!Array.isArray(values) || values.length !== VOLUME_LENGTHS[kinds[0]] || !values.every(Number.isFinite))
    return report("error", where, `${kinds[0]} must be ${VOLUME_LENGTHS[kinds[0]]} numbers`);
  if (kinds[0] === "region") {
    const [west, south, east, north, low, high] = values;
    if (Math.abs(west) > Math.PI || Math.abs(east) > Math.PI) report("error", where, "region longitude outside [-pi, pi]");
    if (Math.abs(south) > Math.PI / 2 || Math.abs(north) > Math.PI / 2) report("error", where, "region latitude outside [-pi/2, pi/2]");
    if (south > north) report("error", where, "region south above north");
    if (low > high) report("error", where, "region minimum height above maximum");
  }
}

async function checkB3dm(path, where) {
  const data = readFileSync(path);
  if (data.length < 28 || data.toString("latin1", 0, 4) !== "b3dm") return report("error", where, "not a b3dm (magic)");
  const [version, length, ftJson, ftBin, btJson, btBin] = [4, 8, 12, 16, 20, 24].map((o) => data.readUInt32LE(o));
  if (version !== 1) report("error", where, `b3dm version ${version}, not 1`);
  if (length !== data.length) report("error", where, `byteLength ${length} but the file has ${data.length} bytes`);
  if (length % 8) report("error", where, "byteLength not a multiple of 8");
  let offset = 28;
  const feature = JSON.parse(data.toString("utf8", offset, offset + ftJson));
  offset += ftJson;
  if (offset % 8) report("error", where, "feature table JSON does not end on an 8-byte boundary");
  offset += ftBin;
  const count = feature.BATCH_LENGTH;
  if (!Number.isInteger(count) || count < 0) report("error", where, "feature table BATCH_LENGTH missing or not a whole number");
  if (btJson) {
    const batch = JSON.parse(data.toString("utf8", offset, offset + btJson));
    if ((offset + btJson) % 8)
      report("error", where, "batch table JSON does not end on an 8-byte boundary");
    for (const [name, values] of Object.entries(batch)) {
      if (Array.isArray(values) && values.length !== count)
        report("error", where, `batch table property ${name} has ${values.length} values for ${count} models`);
    }
  }
  offset += btJson + btBin;
  if (offset % 8) report("error", where, "glTF does not start on an 8-byte boundary");
  const glb = new Uint8Array(data.buffer, data.byteOffset + offset, length - offset);
  const result = await validator.validateBytes(glb, { uri: where, maxIssues: 0 });
  const severities = ["error", "warning", "info", "info"];
  for (const m of result.issues.messages) report(severities[m.severity], `${where} glTF ${m.pointer || ""}`, `${m.code}: ${m.message}`);
  const info = result.info || {};
  return { triangles: info.totalTriangleCount || 0, count };
}

async function checkTile(tile, base, where, parentError, totals) {
  checkVolume(tile.boundingVolume, where);
  if (!(tile.geometricError >= 0)) report("error", where, "geometricError missing or negative");
  if (tile.geometricError > parentError) report("warning", where, "geometricError above its parent's");
  if (tile.refine !== undefined && !["ADD", "REPLACE"].includes(tile.refine)) report("error", where, `refine ${tile.refine}`);
  if (tile.transform !== undefined && !(Array.isArray(tile.transform) && tile.transform.length === 16))
    report("error", where, "transform must be 16 numbers");
  const content = tile.content;
  if (content) {
    const path = resolve(base, content.uri);
    if (!existsSync(path)) report("error", where, `content ${content.uri} is missing`);
    else if (!content.uri.endsWith(".b3dm")) report("warning", where, `content ${content.uri} not checked (only b3dm)`);
    else {
      const found = await checkB3dm(path, content.uri);
      if (found) { totals.contents += 1; totals.models += found.count; totals.triangles += found.triangles; }
    }
  }
  totals.tiles += 1;
  for (const [i, child] of (tile.children || []).entries())
    await checkTile(child, base, `${where}.children[${i}]`, tile.geometricError, totals);
}

const file = process.argv[2];
if (!file) { console.error("usage: node validate_tileset.mjs tileset.json"); process.exit(2); }
const tileset = JSON.parse(readFileSync(file, "utf8"));
if (!["1.0", "1.1"].includes(tileset.asset?.version)) report("error", "asset", "version must be 1.0 or 1.1");
if (!(tileset.geometricError >= 0)) report("error", "tileset", "geometricError missing or negative");
if (!tileset.root) report("error", "tileset", "no root tile");
if (tileset.root && tileset.root.refine === undefined) report("error", "root", "the root tile needs refine");
const totals = { tiles: 0, contents: 0, models: 0, triangles: 0 };
if (tileset.root) await checkTile(tileset.root, dirname(resolve(file)), "root", tileset.geometricError, totals);
for (const severity of ["error", "warning", "info"]) for (const line of issues[severity]) console.log(`${severity.toUpperCase()} ${line}`);
console.log(`${file}: ${totals.tiles} tiles, ${totals.contents} b3dm, ${totals.models} models, ${totals.triangles} triangles (glTF-Validator ${validator.version()})`);
console.log(`${issues.error.length} errors, ${issues.warning.length} warnings, ${issues.info.length} infos`);
process.exit(issues.error.length ? 1 : 0);
