// The contrast check, run in the page by tests/support/browser.py's text_contrast.
//
// For every visible text node under the roots: its colour against the colour behind it (the
// backgrounds up the tree, composed until an opaque one, on the page's own background), with
// the opacity of the element and its ancestors applied. WCAG 2 relative luminance and ratio.
// `var()` and `color-mix()` are resolved by the browser by the time getComputedStyle answers.
// Text of inactive controls is skipped (WCAG 1.4.3 sets them no minimum), and so is text only
// a screen reader gets.
([selector, minimum]) => {
  const canvas = document.createElement("canvas").getContext("2d");
  const parse = (c) => {
    let m = c.match(/^rgba?\(([^)]+)\)$/);
    if (m) {
      const p = m[1].split(/[\s,/]+/).filter(Boolean).map(Number);
      return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
    }
    m = c.match(/^color\(srgb ([^)]+)\)$/);
    if (m) {
      const p = m[1].split(/[\s/]+/).filter(Boolean).map(Number);
      return [p[0] * 255, p[1] * 255, p[2] * 255, p.length > 3 ? p[3] : 1];
    }
    canvas.fillStyle = "#000";
    canvas.fillStyle = c;
    const v = canvas.fillStyle;
    if (v.startsWith("#")) return [1, 3, 5].map((i) => parseInt(v.slice(i, i + 2), 16)).concat([1]);
    return parse(v);
  };
  const over = (top, under) => {
    const a = top[3] + under[3] * (1 - top[3]);
    if (a === 0) return [0, 0, 0, 0];
    const rgb = [0, 1, 2].map((i) => (top[i] * top[3] + under[i] * under[3] * (1 - top[3])) / a);
    return rgb.concat([a]);
  };
  const lum = (c) => {
    const f = (v) => {
      const s = v / 255;
      return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    };
    return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]);
  };
  let pageBg = [255, 255, 255, 1];
  for (const n of [document.documentElement, document.body]) {
    const c = parse(getComputedStyle(n).backgroundColor);
    if (c[3] > 0) pageBg = over(c, pageBg);
  }
  const behind = (el) => {
    const layers = [];
    for (let n = el; n && n.nodeType === 1; n = n.parentElement) {
      const c = parse(getComputedStyle(n).backgroundColor);
      if (c[3] > 0) layers.push(c);
      if (c[3] >= 1) break;
    }
    let bg = pageBg;
    for (const c of layers.reverse()) bg = over(c, bg);
    return bg;
  };
  const opacity = (el) => {
    let o = 1;
    for (let n = el; n && n.nodeType === 1; n = n.parentElement) {
      o *= Number(getComputedStyle(n).opacity);
    }
    return o;
  };
  const inactive = (el) =>
    !!el.closest('[disabled], [aria-disabled="true"], .mod-disabled') || !!el.closest(":disabled");
  const out = { checked: 0, failures: [], samples: [] };
  const seen = new Set();
  for (const root of document.querySelectorAll(selector)) {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let t = walker.nextNode(); t; t = walker.nextNode()) {
      const el = t.parentElement;
      if (!t.textContent.trim() || !el || seen.has(t)) continue;
      seen.add(t);
      if (["STYLE", "SCRIPT"].includes(el.tagName)) continue;
      const r = el.getBoundingClientRect();
      if (!r.width || !r.height) continue;
      if (!el.checkVisibility({ checkOpacity: true, checkVisibilityCSS: true })) continue;
      if (el.closest(".aurous-sr-only") || inactive(el)) continue;
      const bg = behind(el);
      const fg = over(parse(getComputedStyle(el).color), bg);
      const o = opacity(el);
      const shown = [0, 1, 2].map((i) => fg[i] * o + bg[i] * (1 - o)).concat([1]);
      const [a, b] = [lum(shown), lum(bg)];
      const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
      out.checked += 1;
      const entry = {
        text: t.textContent.trim().slice(0, 60),
        ratio: Math.round(ratio * 100) / 100,
        color: getComputedStyle(el).color,
        background: `rgb(${bg.slice(0, 3).map(Math.round).join(", ")})`,
        where: typeof el.className === "string" && el.className ? el.className : el.tagName,
      };
      if (out.samples.length < 400) out.samples.push(entry);
      if (ratio < minimum) out.failures.push(entry);
    }
  }
  return out;
};
