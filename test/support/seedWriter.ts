/**
 * The seed bot's GitHub log writer (seed 000, `backend/app/services/github_log.py`,
 * `GithubLog._append_bg`), ported line for line to TypeScript so our pushes can be tested
 * against its real behaviour on the fake GitHub server:
 *
 *   GET  /repos/R/contents/data/interactions.jsonl   (Accept: application/vnd.github+json)
 *   200 → sha = data.sha; current = b64decode(data.content without "\n")   (over 1 MB GitHub
 *         answers content "" and encoding "none": current is "", the sha is still valid)
 *   404 → sha = None; current = ""
 *   else → give up (logged; the record is not written)
 *   new = current.rstrip("\n") + "\n" + json.dumps(record) + "\n"
 *   PUT  { message, content: b64(new), sha? }   → any failure (409, 422, network) is only logged
 *
 * So once the file passes 1 MB, its next append replaces the whole file with one record.
 */

export interface SeedWriteResult {
  get: number;
  put: number | null;
  /** What the seed believed the file held (bytes), and what it wrote. */
  readBytes: number;
  wroteBytes: number;
}

/** Python's `json.dumps` with default separators (", " and ": "), ASCII-only output. */
export function pyJsonDumps(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return JSON.stringify(v).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  if (typeof v === 'number' || typeof v === 'boolean') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(pyJsonDumps).join(', ')}]`;
  return `{${Object.entries(v as Record<string, unknown>)
    .map(([k, x]) => `${pyJsonDumps(k)}: ${pyJsonDumps(x)}`)
    .join(', ')}}`;
}

export async function seedAppend(
  apiUrl: string,
  repo: string,
  token: string,
  record: Record<string, unknown>,
  logPath = 'data/interactions.jsonl',
): Promise<SeedWriteResult> {
  const url = `${apiUrl}/repos/${repo}/contents/${logPath}`;
  const headers = { authorization: `Bearer ${token}`, accept: 'application/vnd.github+json' };
  const getR = await fetch(url, { headers });
  let sha: string | null;
  let current: string;
  if (getR.status === 200) {
    const data = (await getR.json()) as { sha: string; content: string };
    sha = data.sha;
    current = Buffer.from(data.content.replace(/\n/g, ''), 'base64').toString('utf8');
  } else if (getR.status === 404) {
    await getR.arrayBuffer();
    sha = null;
    current = '';
  } else {
    await getR.arrayBuffer();
    return { get: getR.status, put: null, readBytes: 0, wroteBytes: 0 };
  }
  const next = current.replace(/\n+$/, '') + '\n' + pyJsonDumps(record) + '\n';
  const payload: Record<string, unknown> = { message: 'log: append interaction [skip ci]', content: Buffer.from(next, 'utf8').toString('base64') };
  if (sha) payload.sha = sha;
  const putR = await fetch(url, { method: 'PUT', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(payload) });
  await putR.arrayBuffer();
  return { get: 200, put: putR.status, readBytes: Buffer.byteLength(current), wroteBytes: Buffer.byteLength(next) };
}
