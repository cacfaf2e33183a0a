//! What the comparisons of the three signals share: attributes read from a drawing and
//! compared, the services a program's telemetry names, and sentences about both services said
//! once.

use std::collections::BTreeMap;

use trace_viewer::terminal::wrapped;

/// Attributes as the drawings write them, `key=value` each, read back: `None` where the value
/// varies from run to run (`key=…`).
pub(crate) fn parse_attributes<'a>(
    pairs: impl Iterator<Item = &'a str>,
) -> Vec<(String, Option<String>)> {
    pairs
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (key.to_owned(), (value != "…").then(|| value.to_owned()))
        })
        .collect()
}

/// How the attributes something was exported with differ from those the step gives it.
pub(crate) struct AttributeDifferences {
    /// The step's that are missing, as `` `key=value` `` (`` `key` `` where any value does).
    pub absent: Vec<String>,
    /// The keys the step does not have.
    pub extra: Vec<String>,
    /// (key, value exported, value the step gives it).
    pub differing: Vec<(String, String, String)>,
}

pub(crate) fn attribute_differences(
    expected: &[(String, Option<String>)],
    found: &BTreeMap<String, String>,
) -> AttributeDifferences {
    let absent = expected
        .iter()
        .filter(|(key, _)| !found.contains_key(key))
        .map(|(key, value)| match value {
            Some(value) => format!("`{key}={value}`"),
            None => format!("`{key}`"),
        })
        .collect();
    let extra = found
        .keys()
        .filter(|key| !expected.iter().any(|(wanted, _)| wanted == *key))
        .cloned()
        .collect();
    let differing = expected
        .iter()
        .filter_map(|(key, value)| {
            let (seen, value) = (found.get(key)?, value.as_ref()?);
            (seen != value).then(|| (key.clone(), seen.clone(), value.clone()))
        })
        .collect();
    AttributeDifferences {
        absent,
        extra,
        differing,
    }
}

/// The service names, among those what `program` sent says it comes from, that are not
/// `program`'s: each once, in their first order.
pub(crate) fn other_services<'a>(
    program: &str,
    services: impl Iterator<Item = &'a str>,
) -> Vec<String> {
    distinct(
        services
            .filter(|service| *service != program)
            .map(str::to_owned),
    )
}

/// The distinct items of `items`, in their first order.
pub(crate) fn distinct(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut seen = Vec::new();
    for item in items {
        if !seen.contains(&item) {
            seen.push(item);
        }
    }
    seen
}

/// The services the check runs, in the order the outlines draw them: the caller first. The
/// check gives each program's metrics and records these names (see [`metrics_named_for`](super::metrics::metrics_named_for)).
pub(crate) const SERVICES: [&str; 2] = ["frontend", "backend"];

/// Stands for the services a sentence is about until sentences alike are merged
/// ([`Sentences::merged`]): "Your {who} sent no …" becomes "Your frontend and backend sent no …".
pub(crate) const WHO: &str = "{who}";

/// Sentences about [`WHO`], each with the service it is about, merged where alike: the
/// programs share the code that measures, so one mistake shows in both.
#[derive(Default)]
pub(crate) struct Sentences(Vec<(String, &'static str)>);

impl Sentences {
    pub(crate) fn push(&mut self, service: &'static str, sentence: String) {
        self.0.push((sentence, service));
    }

    /// Each sentence once, in its first place, about every service that gave it.
    pub(crate) fn merged(self) -> Vec<String> {
        let mut merged: Vec<(String, Vec<&str>)> = Vec::new();
        for (sentence, service) in self.0 {
            match merged.iter_mut().find(|(known, _)| *known == sentence) {
                Some((_, services)) => services.push(service),
                None => merged.push((sentence, vec![service])),
            }
        }
        merged
            .into_iter()
            .map(|(sentence, services)| sentence.replace(WHO, &services.join(" and ")))
            .collect()
    }
}

/// `text` as a bullet, wrapped to 96 columns.
pub(crate) fn bullet(text: &str) -> String {
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut out = String::new();
    for (number, line) in wrapped(&words.join(" "), 92).into_iter().enumerate() {
        out.push_str(if number == 0 { "  - " } else { "    " });
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_alike_for_both_services_are_said_once_about_both() {
        let mut sentences = Sentences::default();
        sentences.push("frontend", format!("`x` ({WHO}) has no unit."));
        sentences.push("frontend", "Your frontend sent no `y`.".to_owned());
        sentences.push("backend", format!("`x` ({WHO}) has no unit."));
        assert_eq!(
            sentences.merged(),
            [
                "`x` (frontend and backend) has no unit.",
                "Your frontend sent no `y`."
            ]
        );
    }

    #[test]
    fn a_bullet_keeps_every_word_in_lines_of_at_most_96_columns() {
        let long_word = "x".repeat(100);
        let text = &format!(
            "`send request` is a child of `backend call`; the step expects it under \
             `incoming call`,\n  which is where the client's own span belongs: make it current \
             while the request is sent, and end it when the answer's headers came, {long_word}."
        );
        let drawn = bullet(text);
        let lines: Vec<&str> = drawn.lines().collect();
        assert!(lines[0].starts_with("  - "), "{drawn}");
        assert!(
            lines[1..].iter().all(|line| line.starts_with("    ")),
            "{drawn}"
        );
        let wider = lines
            .iter()
            .filter(|line| line.chars().count() > 96)
            .count();
        assert_eq!(
            wider, 1,
            "only the line of the over-long word is wider: {drawn}"
        );
        assert!(lines.len() >= 3, "{drawn}");
        let words: Vec<&str> = drawn
            .split_whitespace()
            .filter(|word| *word != "-")
            .collect();
        assert_eq!(words, text.split_whitespace().collect::<Vec<_>>());
    }
}
