import { readdirSync, readFileSync } from 'node:fs';

/** Waits until no live (non-zombie) process of group `pgid` is left; Linux /proc only. */
export async function waitGroupGone(pgid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && groupMembers(pgid) > 0) await new Promise((resolve) => setTimeout(resolve, 20));
}

function groupMembers(pgid: number): number {
  let count = 0;
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return 0;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // stat: pid (comm) state ppid pgrp ...; comm may hold spaces, so split after the last ')'
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid && fields[0] !== 'Z' && fields[0] !== 'X') count++;
    } catch {
      // gone meanwhile
    }
  }
  return count;
}
