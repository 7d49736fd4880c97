/* ConvLab feedback pages: how MathJax (served from the page's own _mathjax folder) reads the maths. */
MathJax.Hub.Config({
  tex2jax: {
    inlineMath: [["$", "$"], ["\\(", "\\)"]],
    displayMath: [["$$", "$$"], ["\\[", "\\]"]],
    processEscapes: true,
    processEnvironments: true
  },
  "HTML-CSS": {availableFonts: [], webFont: "STIX-Web", imageFont: null},
  MMLorHTML: {prefer: "HTML"},
  messageStyle: "none"
});
MathJax.Ajax.loadComplete("[MathJax]/config/local/convlab.js");
