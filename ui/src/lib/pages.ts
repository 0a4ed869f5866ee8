// Which pages of `size` rows hold the rows `[first, last)`: what a list read a page at a
// time asks the API for as it is scrolled.
export function pagesOf(first: number, last: number, size: number): number[] {
  if (last <= first) return [];
  const pages: number[] = [];
  for (let p = Math.floor(first / size); p <= Math.floor((last - 1) / size); p += 1) pages.push(p);
  return pages;
}
