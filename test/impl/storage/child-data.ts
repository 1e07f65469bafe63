/** The data of entry `index` as append-child.ts writes it, shared with kill.test.ts, which checks it. */
export function childData(index: number): string {
  return `entry-${index}-`.padEnd(40 + (index % 60), '*');
}
