//! Text from the network made safe in HTML and SVG, as the terminal module makes it safe on a
//! terminal: data, never markup.

/// Text made safe anywhere in a page or a drawing: as an element's content, and as a quoted
/// attribute's value.
pub fn escape(text: &str) -> String {
    let mut safe = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => safe.push_str("&amp;"),
            '<' => safe.push_str("&lt;"),
            '>' => safe.push_str("&gt;"),
            '"' => safe.push_str("&quot;"),
            '\'' => safe.push_str("&#39;"),
            c => safe.push(c),
        }
    }
    safe
}
