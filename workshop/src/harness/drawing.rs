//! Comparing drawings of traces (the runner's, the viewer's) with the samples the README and the
//! tests show, though ids, timings and waterfall bars differ from run to run.

/// `text`, a line at a time, with what changes from run to run blurred: trace ids, numbers
/// (each run of digits becomes one `9`), waterfall bars, runs of spaces; blank lines at the
/// end left out.
pub fn blurred(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text
        .lines()
        .map(|line| {
            let words: Vec<String> = line
                .split_whitespace()
                .map(|word| {
                    if word.len() == 32 && word.chars().all(|c| c.is_ascii_hexdigit()) {
                        return "<id>".to_owned();
                    }
                    let mut blurred = String::new();
                    for c in word.chars().filter(|&c| c != '█') {
                        let c = if c.is_ascii_digit() { '9' } else { c };
                        if !(c == '9' && blurred.ends_with('9')) {
                            blurred.push(c);
                        }
                    }
                    blurred
                })
                .filter(|word| !word.is_empty())
                .collect();
            words.join(" ")
        })
        .collect();
    while lines.last().is_some_and(String::is_empty) {
        lines.pop();
    }
    lines
}
