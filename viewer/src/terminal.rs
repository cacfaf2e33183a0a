//! Text from the network, made safe to print on a terminal. A span's name, an attribute's value,
//! a service's name or a program's log line is whatever somebody sent: printed raw, an escape
//! sequence in it could set the window's title, clear the screen, or rewrite what was printed
//! before. Every string drawn goes through [`printable`], or [`clip`] and [`pad`], which use it.
//! And a line longer than a terminal is wide is cut at spaces by [`wrapped`].

use std::borrow::Cow;
use std::fmt::Write;

use unicode_width::UnicodeWidthChar;

/// `text` with every character a terminal would act on, rather than show, written out as an
/// escape a person can read: the C0 controls and DEL as `\x1b` (and `\t`, `\n`, `\r`, `\0`),
/// the C1 controls as `\u{9b}`, and the bidirectional overrides and isolates (which reorder
/// what is shown around them) as `\u{202e}`. Everything else is kept, wide and combining
/// characters included. Borrowed when there is nothing to escape, as almost always.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut escaped = String::with_capacity(text.len() + 8);
    for character in text.chars() {
        push_printable(&mut escaped, character);
    }
    Cow::Owned(escaped)
}

fn needs_escape(character: char) -> bool {
    character.is_control() || is_bidi_control(character)
}

/// The characters that change the direction of the text around them (Unicode's bidirectional
/// formatting characters): a name could otherwise show as something it is not.
fn is_bidi_control(character: char) -> bool {
    matches!(
        character,
        '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
    )
}

fn push_printable(out: &mut String, character: char) {
    match character {
        '\t' => out.push_str("\\t"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\0' => out.push_str("\\0"),
        // C0 and DEL: one byte each.
        '\u{01}'..='\u{1f}' | '\u{7f}' => {
            let _ = write!(out, "\\x{:02x}", u32::from(character));
        }
        // C1, and the bidirectional controls.
        _ if needs_escape(character) => {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(character));
        }
        _ => out.push(character),
    }
}

/// How many terminal columns `text` takes once [`printable`]: wide characters take two,
/// combining ones none.
pub fn width(text: &str) -> usize {
    printable(text).chars().map(char_width).sum()
}

fn char_width(character: char) -> usize {
    // `None` for controls, which `printable` has already written out.
    character.width().unwrap_or(0)
}

/// `text`, [`printable`], in at most `columns` columns: when it is wider, it is cut between two
/// characters (never inside an escape, nor half-way through a wide character) and ends with
/// `…`. Nothing at all fits in no columns.
pub fn clip(text: &str, columns: usize) -> String {
    if columns == 0 {
        return String::new();
    }
    if width(text) <= columns {
        return printable(text).into_owned();
    }
    let room = columns.saturating_sub(1);
    let mut clipped = String::new();
    let mut used = 0;
    // Character by character, each as it is shown: an escape is kept whole or not at all.
    let mut shown = String::new();
    for character in text.chars() {
        shown.clear();
        push_printable(&mut shown, character);
        let shown_width: usize = shown.chars().map(char_width).sum();
        if used + shown_width > room {
            break;
        }
        clipped.push_str(&shown);
        used += shown_width;
    }
    clipped.push('…');
    clipped
}

/// `text`, [`clip`]ped to `columns`, then filled with spaces to exactly `columns` columns: a
/// table's cell, which `format!`'s `{:<30}` cannot make, since it counts characters, not
/// columns.
pub fn pad(text: &str, columns: usize) -> String {
    let mut cell = clip(text, columns);
    let used = cell.chars().map(char_width).sum::<usize>();
    cell.extend(std::iter::repeat_n(' ', columns.saturating_sub(used)));
    cell
}

/// `line` cut at spaces into parts of at most `width` characters (a word longer than that stays
/// whole).
pub fn wrapped(line: &str, width: usize) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut rest = line;
    while rest.chars().count() > width {
        let limit = rest
            .char_indices()
            .nth(width)
            .map_or(rest.len(), |(at, _)| at);
        // The last space with at most `width` characters before it, or else the first.
        let cut = if rest[limit..].starts_with(' ') {
            Some(limit)
        } else {
            rest[..limit]
                .rfind(' ')
                .or_else(|| rest[limit..].find(' ').map(|at| limit + at))
        };
        let Some(cut) = cut.filter(|&at| at > 0) else {
            break;
        };
        parts.push(&rest[..cut]);
        rest = rest[cut..].trim_start_matches(' ');
    }
    parts.push(rest);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_log_lines_are_cut_at_spaces() {
        assert_eq!(wrapped("short line", 76), ["short line"]);
        assert_eq!(
            wrapped("aaaa bbbb cccc dddd", 9),
            ["aaaa bbbb", "cccc dddd"]
        );
        assert_eq!(wrapped("aaaaaaaaaaaa bb", 4), ["aaaaaaaaaaaa", "bb"]);
        assert_eq!(wrapped("", 4), [""]);
        assert_eq!(wrapped("é é é", 3), ["é é", "é"]);
    }

    #[test]
    fn every_control_character_is_written_out_and_nothing_else_is_touched() {
        let mut every_control = String::new();
        for code in (0..0x20).chain(0x7f..0xa0) {
            every_control.extend(char::from_u32(code));
        }
        let shown = printable(&every_control);
        // Not one byte a terminal acts on: only printable ASCII is left.
        assert!(
            shown.bytes().all(|byte| (0x20..0x7f).contains(&byte)),
            "{shown}"
        );
        assert!(shown.starts_with(r"\0\x01\x02"), "{shown}");
        assert!(shown.contains(r"\t\n\x0b\x0c\r\x0e"), "{shown}");
        assert!(shown.contains(r"\x1b\x1c"), "{shown}");
        assert!(shown.contains(r"\x1f\x7f\u{80}"), "{shown}");
        assert!(
            shown.ends_with(r"\u{9b}\u{9c}\u{9d}\u{9e}\u{9f}"),
            "{shown}"
        );

        // The issue's example: set the window's title, then clear the screen.
        assert_eq!(
            printable("\u{1b}]0;OWNED\u{7}\u{1b}[2J"),
            r"\x1b]0;OWNED\x07\x1b[2J"
        );
        // Right-to-left override and isolates, which would reorder what follows.
        assert_eq!(
            printable("a\u{202e}b\u{2066}c\u{2069}\u{200f}"),
            r"a\u{202e}b\u{2066}c\u{2069}\u{200f}"
        );
        // Ordinary text, other scripts, emoji, wide and combining characters stay as they are,
        // and are not copied.
        for kept in [
            "incoming call",
            "é",
            "e\u{301}",
            "日本語",
            "🦀",
            "zero\u{200d}width",
        ] {
            assert!(matches!(printable(kept), Cow::Borrowed(_)), "{kept}");
        }
    }

    #[test]
    fn widths_count_columns_not_characters() {
        assert_eq!(width("abc"), 3);
        assert_eq!(width("日本"), 4);
        assert_eq!(width("e\u{301}"), 1);
        assert_eq!(width("\u{1b}"), 4, r"shown as \x1b");
    }

    #[test]
    fn clipping_never_cuts_an_escape_or_a_wide_character_and_fits_the_columns() {
        assert_eq!(clip("incoming call", 20), "incoming call");
        assert_eq!(clip("incoming call", 9), "incoming…");
        // `\x1b` is four columns: with room for three before `…`, it goes whole.
        assert_eq!(clip("ab\u{1b}cdef", 6), "ab…");
        assert_eq!(clip("ab\u{1b}cdef", 7), r"ab\x1b…");
        // A wide character that would end past the last column is left out whole.
        assert_eq!(clip("a日本語", 5), "a日…");
        assert_eq!(clip("a日本語", 4), "a日…");
        // A combining accent stays with its letter.
        assert_eq!(clip("ae\u{301}bcdef", 4), "ae\u{301}b…");
        assert_eq!(clip("anything", 1), "…");
        assert_eq!(clip("anything", 0), "");
        for text in [
            "日本語のテキスト",
            "\u{1b}[2J\u{1b}[2J",
            "e\u{301}e\u{301}e\u{301}e\u{301}",
        ] {
            for columns in 1..12 {
                assert!(
                    width(&clip(text, columns)) <= columns,
                    "{text:?} in {columns}"
                );
            }
        }
    }

    #[test]
    fn a_cell_is_exactly_as_wide_as_asked() {
        for text in [
            "frontend",
            "日本語",
            "e\u{301}",
            "\u{1b}",
            "a much longer name than that",
        ] {
            let cell = pad(text, 10);
            assert_eq!(width(&cell), 10, "{cell:?}");
        }
        assert_eq!(pad("日本", 5), "日本 ");
    }
}
