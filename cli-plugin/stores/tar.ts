// A reader for the tar streams `docker run ... tar -c` hands us (GNU or ustar format):
// names, kinds, modes, owners and file contents. Enough to inspect a store in a volume
// without extracting anything to disk.

export type TarEntry = {
  path: string;
  type: "file" | "dir" | "symlink" | "other";
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtimeMs: number;
  data: Buffer;
};

const BLOCK = 512;

function text(block: Buffer, offset: number, length: number): string {
  const slice = block.subarray(offset, offset + length);
  const end = slice.indexOf(0);
  return slice.subarray(0, end === -1 ? slice.length : end).toString("utf8");
}

function octal(block: Buffer, offset: number, length: number): number {
  const field = block.subarray(offset, offset + length);
  // GNU base-256 for large values: first byte has the high bit set.
  if (field[0]! & 0x80) {
    let value = field[0]! & 0x7f;
    for (let i = 1; i < field.length; i++) value = value * 256 + field[i]!;
    return value;
  }
  const digits = text(block, offset, length).trim();
  return digits ? parseInt(digits, 8) : 0;
}

export function parseTar(archive: Buffer): TarEntry[] {
  const entries: TarEntry[] = [];
  let offset = 0;
  let longName: string | null = null;
  let paxPath: string | null = null;
  while (offset + BLOCK <= archive.length) {
    const header = archive.subarray(offset, offset + BLOCK);
    if (header.every((byte) => byte === 0)) break;
    const size = octal(header, 124, 12);
    const typeflag = String.fromCharCode(header[156]!);
    const dataStart = offset + BLOCK;
    const data = archive.subarray(dataStart, dataStart + size);
    offset = dataStart + Math.ceil(size / BLOCK) * BLOCK;

    if (typeflag === "L") {
      longName = data.toString("utf8").replace(/\0+$/, "");
      continue;
    }
    if (typeflag === "x") {
      const match = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(data.toString("utf8"));
      paxPath = match ? match[1]! : null;
      continue;
    }
    if (typeflag === "g" || typeflag === "K") continue;

    const prefix = header.subarray(257, 263).toString("latin1").startsWith("ustar") ? text(header, 345, 155) : "";
    const name = paxPath ?? longName ?? (prefix ? `${prefix}/${text(header, 0, 100)}` : text(header, 0, 100));
    longName = null;
    paxPath = null;
    const type = typeflag === "0" || typeflag === "\0" || typeflag === "7" ? "file" : typeflag === "5" ? "dir" : typeflag === "2" ? "symlink" : "other";
    entries.push({
      path: normalize(name),
      type,
      mode: octal(header, 100, 8) & 0o7777,
      uid: octal(header, 108, 8),
      gid: octal(header, 116, 8),
      size,
      mtimeMs: octal(header, 136, 12) * 1000,
      data: type === "file" ? Buffer.from(data) : Buffer.alloc(0),
    });
  }
  return entries;
}

function normalize(name: string): string {
  const cleaned = name.replace(/^\.\//, "").replace(/\/+$/, "");
  return cleaned === "" || cleaned === "." ? "." : cleaned;
}
