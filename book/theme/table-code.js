// Long code in a table cell may break where a reader expects it to: before a method's `.`,
// after a path's `::`, after an opening `(`, and after the `_` of a NAME_IN_CAPITALS. The
// browser cannot know those places; a <wbr> marks each one. (book/theme/screen.css lets a
// cell break elsewhere only when a piece is still too wide for it.)
"use strict";
(() => {
    const places =
        /(?<=::)(?=[^:])|(?<=[^\s.])(?=\.[A-Za-z_])|(?<=\()(?=[^)\s.])|(?<=[A-Z0-9]_)(?=[A-Z])/;
    for (const code of document.querySelectorAll("main td code, main th code")) {
        const walker = document.createTreeWalker(code, NodeFilter.SHOW_TEXT);
        const texts = [];
        while (walker.nextNode()) {
            texts.push(walker.currentNode);
        }
        for (const text of texts) {
            const parts = text.data.split(places);
            if (parts.length < 2) {
                continue;
            }
            const pieces = document.createDocumentFragment();
            parts.forEach((part, index) => {
                if (index > 0) {
                    pieces.append(document.createElement("wbr"));
                }
                pieces.append(part);
            });
            text.replaceWith(pieces);
        }
    }
})();
