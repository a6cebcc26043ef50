/**
 * A short CSS selector for an element, e.g. `main > button#buy.btn-primary`: up to three
 * levels, stopping at the first id (ids are unique enough), at most two classes per level.
 * Used for click targets and for Web Vitals attribution (LCP element, CLS source, INP target).
 */
export const selector = (node: Node | null | undefined): string => {
  const parts: string[] = [];
  let el = node && node.nodeType == 1 ? (node as Element) : node && node.parentElement;
  while (el && el.nodeType == 1 && parts.length < 3) {
    let part = el.tagName.toLowerCase();
    if (el.id) part += '#' + el.id;
    const cls = typeof el.className == 'string' ? el.className.trim() : '';
    if (cls) part += '.' + cls.split(/\s+/).slice(0, 2).join('.');
    parts.unshift(part);
    if (el.id || part == 'body' || part == 'html') break;
    el = el.parentElement;
  }
  return parts.join(' > ').slice(0, 1024);
};
