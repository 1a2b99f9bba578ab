// Package termsafe makes untrusted text safe to print on a terminal:
// document text, file names, plugin output and model output.
//
// A terminal obeys control characters and escape sequences in what it
// prints: OSC 52 sets the clipboard, OSC 0/2 the window title, CSI moves
// the cursor and rewrites what is on screen, DCS/APC/PM/SOS reach the
// terminal's own parsers. termsafe replaces every character that can start
// or take part in such a command with a visible placeholder of one cell,
// so the text shows what was there and the terminal obeys none of it:
//
//   - C0 controls U+0000–U+001F become their Unicode Control Pictures
//     (U+2400–U+241F): ESC shows as ␛, BEL as ␇, CR as ␍;
//   - DEL (U+007F) becomes ␡ (U+2421);
//   - C1 controls U+0080–U+009F (8-bit CSI, OSC, DCS…), bytes that are not
//     UTF-8, and the bidirectional embeddings, overrides and isolates
//     (U+202A–U+202E, U+2066–U+2069) become the replacement character �
//     (U+FFFD).
//
// Only the introducing characters are replaced: the rest of a sequence
// (`]52;c;…`, `[31m`) stays as plain text, which the terminal prints and
// the reader sees.
//
// Entry points: [String] for multi-line text (it keeps \n, \t and the \r
// of \r\n), [Line] for one-line fields such as file names, titles and
// status lines (it replaces those too), [NewWriter] for streams (logs).
// Clean text is returned as it is, without allocating.
//
// termsafe owns no I/O and no state; it must not decide what is shown,
// only how it reaches the terminal.
package termsafe
