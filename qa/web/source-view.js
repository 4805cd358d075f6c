/*
 * 绩效报告问答 — the source viewer's core: find a cited span in a document's text and show the text with the
 * span marked. One copy, two users: the chat widget (the server inlines this file into widget.js where it says
 * "@include source-view.js", so the widget stays one file for host pages) and the library console (/admin loads
 * it as /admin/source-view.js). Defines one name, JxSource (local to the widget's closure there).
 */
var JxSource = (function () {
  "use strict";

  /** Python counts code points, JavaScript counts UTF-16 units: convert a code-point offset. */
  function utf16Offset(text, cp) {
    if (!/[\uD800-\uDBFF]/.test(text)) return cp;
    var units = 0;
    var count = 0;
    for (var ch of text) {
      if (count >= cp) break;
      units += ch.length;
      count++;
    }
    return units;
  }

  /** [start, end) of the cited span in `text` (UTF-16 units), or null. `c`: {char_start, char_end, text}. */
  function citedRange(text, c) {
    var start = utf16Offset(text, c.char_start);
    var end = utf16Offset(text, c.char_end);
    var quote = (c.text || "").trim();
    if (start >= 0 && end > start && end <= text.length && (!quote || text.slice(start, end).indexOf(quote.slice(0, 20)) >= 0)) {
      return [start, end];
    }
    if (quote) {
      // Offsets disagree with the text (e.g. the report was re-ingested): find the nearest copy of the quote.
      var best = -1;
      var at = text.indexOf(quote);
      while (at >= 0) {
        if (best < 0 || Math.abs(at - start) < Math.abs(best - start)) best = at;
        at = text.indexOf(quote, at + 1);
      }
      if (best >= 0) return [best, best + quote.length];
    }
    return start >= 0 && end > start && end <= text.length ? [start, end] : null;
  }

  /**
   * Fill `box` with `text`, the span cited by `c` (if any) in a <mark>, and scroll the box (only the box: a
   * scrollIntoView could also scroll a host page) so the mark sits a third of the way down. Returns the mark
   * or null. options: {markClass, markLabel}.
   */
  function render(box, text, c, options) {
    var opts = options || {};
    box.textContent = "";
    var range = c ? citedRange(text, c) : null;
    if (!range) {
      box.appendChild(document.createTextNode(text));
      return null;
    }
    var mark = document.createElement("mark");
    if (opts.markClass) mark.className = opts.markClass;
    if (opts.markLabel) mark.setAttribute("aria-label", opts.markLabel);
    mark.textContent = text.slice(range[0], range[1]);
    box.appendChild(document.createTextNode(text.slice(0, range[0])));
    box.appendChild(mark);
    box.appendChild(document.createTextNode(text.slice(range[1])));
    box.scrollTop = Math.max(0, mark.offsetTop - box.clientHeight / 3);
    return mark;
  }

  return Object.freeze({ utf16Offset: utf16Offset, citedRange: citedRange, render: render });
})();
