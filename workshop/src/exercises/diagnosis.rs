//! The diagnosis exercises, the post's stated objective made an exercise: "see the overall
//! response latency and understand how each service and the network between them contribute
//! to it". `cargo run -p workshop check latency-1` runs step 08's programs with a fault hidden
//! in them (a slow network through the delay proxy, slow work in the backend), sends one
//! request and draws its trace; the attendee reads where the time went from the trace alone,
//! and answers with `--answer network=120`. A wrong answer gets a hint about what to look at.
//!
//! The hidden fault is drawn at random when the trace is shown, and kept in the target folder
//! until it is answered, so that two attendees do not share an answer.

use std::{
    fmt,
    hash::{BuildHasher, Hasher},
    path::PathBuf,
    time::Duration,
};

use crate::{
    harness::process,
    spans::{self, SpanRecord},
    steps::{self, Step},
};

/// Where the time of a request goes, as the latency chapter reads it from the trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// Out to the backend and back: the delay proxy's `DELAY_MS`, both ways together.
    Network,
    /// The backend's own work: its `BACKEND_WORK_MS`.
    Backend,
}

impl Place {
    fn name(self) -> &'static str {
        match self {
            Place::Network => "network",
            Place::Backend => "backend",
        }
    }

    fn parse(name: &str) -> Option<Place> {
        match name.trim().to_ascii_lowercase().as_str() {
            "network" => Some(Place::Network),
            "backend" => Some(Place::Backend),
            _ => None,
        }
    }

    /// Where to look in the trace for this share.
    fn where_to_look(self) -> &'static str {
        match self {
            Place::Network => {
                "the network's share is what `send request` lasts beyond `backend call \
                 received`: the time the request and its answer spent between the two services, \
                 both ways together"
            }
            Place::Backend => {
                "the backend's share is `backend call received`: how long the backend took \
                 from the moment the request reached it"
            }
        }
    }
}

/// A share of a request's time that a fault adds, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Share {
    pub place: Place,
    pub ms: u64,
}

impl fmt::Display for Share {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.place.name(), self.ms)
    }
}

/// A diagnosis exercise: a request made slow in a way the attendee must find.
#[derive(Debug)]
pub struct Diagnosis {
    /// What the attendee types: `latency-1`.
    pub name: &'static str,
    pub title: &'static str,
    /// The question the attendee answers, and how.
    pub question: &'static str,
    /// Draws the hidden fault from a random number.
    draw: fn(u64) -> Vec<Share>,
    /// What `check latency-1 --hint N` shows.
    pub hints: &'static [&'static str],
}

/// The diagnosis exercises, in order.
pub const DIAGNOSES: &[Diagnosis] = &[
    Diagnosis {
        name: "latency-1",
        title: "one slow share",
        question: "This request is slow, and one share of it is to blame: the network between \
                   the frontend and the backend, or the backend's own work. Which, and about how \
                   many milliseconds does it add? The network's share counts both ways together.",
        draw: |random| {
            let ms = 80 + random % 80;
            match random / 1000 % 2 {
                0 => vec![Share {
                    place: Place::Network,
                    ms: ms / 2 * 2,
                }],
                _ => vec![Share {
                    place: Place::Backend,
                    ms,
                }],
            }
        },
        hints: &[
            "Read the waterfall from the outside in, as the chapter \"Where does the latency go?\" \
             does: `incoming call` is the whole request; inside it, `backend call` is what the \
             frontend waited for. Which span inside `backend call` takes most of it?",
            "The network's share is what `send request` lasts beyond `backend call received`; \
             the backend's share is `backend call received` itself. One of them is large here.",
        ],
    },
    Diagnosis {
        name: "latency-2",
        title: "two slow shares",
        question: "This request is slow for two reasons: the network between the frontend and \
                   the backend, and the backend's own work. About how many milliseconds does \
                   each add? The network's share counts both ways together.",
        draw: |random| {
            vec![
                Share {
                    place: Place::Network,
                    ms: (60 + random % 60) / 2 * 2,
                },
                Share {
                    place: Place::Backend,
                    ms: 50 + random / 100 % 60,
                },
            ]
        },
        hints: &[
            "Read the waterfall from the outside in, as the chapter \"Where does the latency go?\" \
             does: `send request` holds the request's way out, the backend's work and the way \
             back.",
            "The backend's share is `backend call received`; the network's is what is left of \
             `send request` once it is taken out: `send request` minus `backend call received`.",
        ],
    },
];

/// The diagnosis exercise named `name`.
pub fn find(name: &str) -> Option<&'static Diagnosis> {
    DIAGNOSES.iter().find(|diagnosis| diagnosis.name == name)
}

/// The step whose programs the diagnosis exercises run: the first with the HTTP client's
/// spans and the backend's simulated work.
pub fn step() -> &'static Step {
    steps::find("08").expect("step 08 exists")
}

/// How far an answer may be from the share it names: the services' own work, loopback and the
/// scheduler add a few milliseconds to every share, and nobody reads a waterfall to the
/// millisecond.
pub fn tolerance(ms: u64) -> u64 {
    (ms / 4).max(20)
}

impl Diagnosis {
    /// A fresh hidden fault.
    pub fn draw(&self) -> Vec<Share> {
        let random = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish();
        (self.draw)(random)
    }

    /// Where the fault being answered is kept: `target/diagnosis/latency-1`.
    fn kept_at(&self) -> Result<PathBuf, String> {
        Ok(process::target_dir()?.join("diagnosis").join(self.name))
    }

    /// Keeps `fault` until it is answered.
    pub fn keep(&self, fault: &[Share]) -> Result<(), String> {
        let path = self.kept_at()?;
        if let Some(folder) = path.parent() {
            std::fs::create_dir_all(folder)
                .map_err(|error| format!("cannot create {}: {error}", folder.display()))?;
        }
        let text: Vec<String> = fault.iter().map(Share::to_string).collect();
        std::fs::write(&path, text.join(" "))
            .map_err(|error| format!("cannot write {}: {error}", path.display()))
    }

    /// The fault last shown, if any.
    pub fn kept(&self) -> Result<Option<Vec<Share>>, String> {
        let path = self.kept_at()?;
        let Ok(text) = std::fs::read_to_string(&path) else {
            return Ok(None);
        };
        text.split_whitespace()
            .map(parse_share)
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
            .map_err(|error| format!("{}: {error}", path.display()))
    }
}

/// `network=120` as a share.
pub fn parse_share(text: &str) -> Result<Share, String> {
    let (place, ms) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not PLACE=MILLISECONDS (network=120)"))?;
    let place = Place::parse(place)
        .ok_or_else(|| format!("{place:?} is not a place: network or backend"))?;
    let ms = ms
        .trim()
        .trim_end_matches("ms")
        .parse()
        .map_err(|_| format!("{ms:?} is not a number of milliseconds"))?;
    Ok(Share { place, ms })
}

/// What is wrong with `answer` for the hidden `fault`, as hints; none when it is right.
pub fn judge(fault: &[Share], answer: &[Share]) -> Vec<String> {
    let mut hints = Vec::new();
    for share in fault {
        match answer.iter().find(|given| given.place == share.place) {
            None => hints.push(format!(
                "Your answer leaves out a share that makes this request slow. Look again: {}.",
                share.place.where_to_look()
            )),
            Some(given) if given.ms.abs_diff(share.ms) <= tolerance(share.ms) => {}
            Some(given)
                if share.place == Place::Network
                    && given.ms.abs_diff(share.ms / 2) <= tolerance(share.ms / 2) =>
            {
                hints.push(format!(
                    "The network's share is right one way: {} ms is the time out, or the time \
                     back. The question counts both ways together.",
                    given.ms
                ));
            }
            Some(given) => hints.push(format!(
                "The {} does make this request slow, but not by {} ms. Look again: {}.",
                share.place.name(),
                given.ms,
                share.place.where_to_look()
            )),
        }
    }
    for given in answer {
        if !fault.iter().any(|share| share.place == given.place) {
            hints.push(format!(
                "The {} is not what makes this request slow: {}, and it is short here.",
                given.place.name(),
                given.place.where_to_look()
            ));
        }
    }
    hints
}

/// The shares of a request's time as the latency chapter reads them from its spans: the
/// network's, `send request` minus `backend call received`; the backend's, `backend call
/// received`. What an attendee reads off the waterfall, for the tests to answer with.
pub fn read_shares(spans: &[SpanRecord]) -> Option<Vec<Share>> {
    let lasted = |name: &str| {
        let span = spans.iter().find(|span| span.name == name)?;
        span.end.duration_since(span.start).ok()
    };
    let send = lasted("send request")?;
    let backend = lasted("backend call received")?;
    let ms = |duration: Duration| u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
    Some(vec![
        Share {
            place: Place::Network,
            ms: ms(send.saturating_sub(backend)),
        },
        Share {
            place: Place::Backend,
            ms: ms(backend),
        },
    ])
}

/// Runs step 08's programs with `fault` hidden in them, sends one request, and returns every
/// span they exported.
pub async fn run_with(fault: &[Share]) -> Result<Vec<SpanRecord>, String> {
    let step = step();
    let share = |place| {
        fault
            .iter()
            .find(|share| share.place == place)
            .map_or(0, |share| share.ms)
    };
    let packages = vec![
        step.frontend(),
        step.backend(),
        process::DELAY_PROXY.to_owned(),
    ];
    tokio::task::spawn_blocking(move || process::build(&packages, false))
        .await
        .map_err(|error| error.to_string())??;

    let work = share(Place::Backend).to_string();
    let (answer, frontend, backend) = process::one_request_through_proxy(
        [&step.frontend(), &step.backend()],
        &[],
        &[("BACKEND_WORK_MS", &work)],
        // Half the round trip each way.
        Duration::from_millis(share(Place::Network) / 2),
    )
    .await?;
    let (frontend, backend) = (frontend?, backend?);
    match answer {
        Ok((status, _)) if status.is_success() => {}
        Ok((status, body)) => return Err(format!("the frontend answered {status}: {body:?}")),
        Err(error) => return Err(error),
    }
    process::exported_spans(step, &frontend, &backend)
}

/// The attribute of the backend's `simulated work` span that says how long it was told to
/// work: it would give the answer away, so the puzzle's drawing leaves it out.
const GIVES_IT_AWAY: &str = "demo.simulated_work_ms";

/// The trace of `spans`, drawn as the runner and the trace viewer draw it, without
/// [`GIVES_IT_AWAY`]: the attendee reads the shares off the waterfall.
pub fn drawn(spans: &[SpanRecord]) -> String {
    let spans: Vec<SpanRecord> = spans
        .iter()
        .cloned()
        .map(|mut span| {
            span.attributes.remove(GIVES_IT_AWAY);
            span
        })
        .collect();
    spans::traces(&spans)
        .iter()
        .map(|trace| spans::render(trace))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn share(place: Place, ms: u64) -> Share {
        Share { place, ms }
    }

    #[test]
    fn a_right_answer_gets_no_hint_and_a_wrong_one_is_told_where_to_look() {
        let fault = [share(Place::Network, 100)];
        assert!(judge(&fault, &[share(Place::Network, 110)]).is_empty());
        assert!(judge(&fault, &[share(Place::Network, 90)]).is_empty());

        let one_way = judge(&fault, &[share(Place::Network, 50)]);
        assert!(one_way[0].contains("both ways together"), "{one_way:?}");

        let far_off = judge(&fault, &[share(Place::Network, 300)]);
        assert!(
            far_off[0].starts_with("The network does make"),
            "{far_off:?}"
        );
        assert!(far_off[0].contains("`send request`"));

        let elsewhere = judge(&fault, &[share(Place::Backend, 100)]);
        assert_eq!(elsewhere.len(), 2, "{elsewhere:?}");
        assert!(elsewhere[0].contains("leaves out"));
        assert!(elsewhere[1].starts_with("The backend is not what makes"));
    }

    #[test]
    fn both_shares_must_be_named_in_the_second_exercise() {
        let fault = [share(Place::Network, 80), share(Place::Backend, 50)];
        assert!(
            judge(
                &fault,
                &[share(Place::Backend, 48), share(Place::Network, 84)]
            )
            .is_empty()
        );
        assert_eq!(judge(&fault, &[share(Place::Network, 80)]).len(), 1);
    }

    #[test]
    fn answers_are_read_as_place_equals_milliseconds() {
        assert_eq!(parse_share("network=120"), Ok(share(Place::Network, 120)));
        assert_eq!(parse_share("Backend=45ms"), Ok(share(Place::Backend, 45)));
        assert!(parse_share("network").is_err());
        assert!(
            parse_share("disk=3")
                .unwrap_err()
                .contains("network or backend")
        );
        assert!(parse_share("network=fast").is_err());
    }

    #[test]
    fn every_fault_drawn_is_big_enough_to_see_and_answerable() {
        for diagnosis in DIAGNOSES {
            for random in [0, 1, 999, 1000, 123_456_789, u64::MAX] {
                let fault = (diagnosis.draw)(random);
                assert!(!fault.is_empty());
                for share in &fault {
                    assert!(share.ms >= 30, "{}: {share}", diagnosis.name);
                    assert!(
                        share.ms > 2 * tolerance(share.ms),
                        "{}: {share}",
                        diagnosis.name
                    );
                }
                assert!(judge(&fault, &fault).is_empty());
            }
        }
    }
}
