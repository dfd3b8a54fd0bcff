//! COM2 of the nested guest, split into what `/init` reports (`##` lines) and the
//! transcript of each Tessera run (everything between `##RUN id=N event=begin` and
//! `##RUN id=N event=end`). The transcripts go to the same parser as every other
//! engine's COM1 ([`crate::transcript`]).

/// What one COM2 line says.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// `##STAGE name=linux|kvm status=ok|fail ...`
    Stage {
        name: String,
        ok: bool,
        line: String,
    },
    /// `##PARAM kvm_intel.NAME=VALUE`
    Param(String),
    /// `##DMESG text`: a kernel log line (or insmod's complaint).
    Dmesg(String),
    RunBegin {
        id: String,
    },
    RunEnd {
        id: String,
        rc: i32,
        uptime: Option<f64>,
    },
    /// `##QEMU id=N text`: a line QEMU wrote to stderr.
    Qemu {
        id: String,
        text: String,
    },
    /// `##DONE`: every run is over; the guest ends Bochs next.
    Done,
    /// A line of the current run's transcript.
    Transcript {
        id: String,
        line: String,
    },
    /// Anything else outside a run (kept for the failure report).
    Other(String),
}

const MARK: &str = "##";
const RUN_MARK: &str = "##RUN id=";

/// The splitter: knows which run is open.
#[derive(Clone, Debug, Default)]
pub struct Channel {
    open: Option<String>,
}

fn field<'a>(rest: &'a str, key: &str) -> Option<&'a str> {
    rest.split_whitespace()
        .filter_map(|t| t.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
}

impl Channel {
    pub fn new() -> Channel {
        Channel::default()
    }

    /// The events of one line (two when a run's last line has no newline and the end
    /// marker follows it on the same line).
    pub fn push(&mut self, line: &str) -> Vec<Event> {
        let line = line.trim_end_matches(['\r', '\n']);
        if let Some(id) = &self.open {
            if let Some(at) = line.find(RUN_MARK).filter(|&at| at > 0) {
                let mut events = vec![Event::Transcript {
                    id: id.clone(),
                    line: line[..at].to_owned(),
                }];
                events.extend(self.push(&line[at..]));
                return events;
            }
        }
        let Some(body) = line.strip_prefix(MARK) else {
            return vec![match &self.open {
                Some(id) => Event::Transcript {
                    id: id.clone(),
                    line: line.to_owned(),
                },
                None => Event::Other(line.to_owned()),
            }];
        };
        let (word, rest) = body.split_once(' ').unwrap_or((body, ""));
        vec![self.marker(word, rest, line)]
    }

    fn marker(&mut self, word: &str, rest: &str, line: &str) -> Event {
        let id = || field(rest, "id").unwrap_or("?").to_owned();
        match word {
            "STAGE" => Event::Stage {
                name: field(rest, "name").unwrap_or("?").to_owned(),
                ok: field(rest, "status") == Some("ok"),
                line: line.to_owned(),
            },
            "PARAM" => Event::Param(rest.to_owned()),
            "DMESG" => Event::Dmesg(rest.to_owned()),
            "RUN" if field(rest, "event") == Some("begin") => {
                self.open = Some(id());
                Event::RunBegin { id: id() }
            }
            "RUN" if field(rest, "event") == Some("end") => {
                self.open = None;
                Event::RunEnd {
                    id: id(),
                    rc: field(rest, "rc").and_then(|r| r.parse().ok()).unwrap_or(-1),
                    uptime: field(rest, "uptime").and_then(|u| u.parse().ok()),
                }
            }
            "QEMU" => Event::Qemu {
                id: id(),
                text: rest.split_once(' ').map_or("", |(_, t)| t).to_owned(),
            },
            "DONE" => Event::Done,
            _ => match &self.open {
                Some(open) => Event::Transcript {
                    id: open.clone(),
                    line: line.to_owned(),
                },
                None => Event::Other(line.to_owned()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(text: &str) -> Vec<Event> {
        let mut c = Channel::new();
        text.lines().flat_map(|l| c.push(l)).collect()
    }

    fn t(id: &str, line: &str) -> Event {
        Event::Transcript {
            id: id.into(),
            line: line.into(),
        }
    }

    #[test]
    fn runs_are_kept_apart_from_the_guests_reports() {
        let events = split(
            "##STAGE name=linux status=ok uptime=14.2 kernel=6.1.0-57-amd64\n\
             ##PARAM kvm_intel.nested=Y\n\
             ##DMESG [   20.1] kvm: ok\n\
             ##STAGE name=kvm status=ok uptime=20.5\n\
             ##RUN id=000 event=begin uptime=20.6\n\
             @@CAP vmx=1\r\n\
             ##not a marker word\n\
             @@RESULT pass\n\
             ##RUN id=000 event=end rc=1 uptime=25.0\n\
             ##QEMU id=000 qemu-system-x86_64: warning: x\n\
             ##RUN id=001 event=begin uptime=25.1\n\
             half a line##RUN id=001 event=end rc=143 uptime=90.0\n\
             ##DONE uptime=90.1\n",
        );
        assert_eq!(
            events,
            [
                Event::Stage {
                    name: "linux".into(),
                    ok: true,
                    line: "##STAGE name=linux status=ok uptime=14.2 kernel=6.1.0-57-amd64".into()
                },
                Event::Param("kvm_intel.nested=Y".into()),
                Event::Dmesg("[   20.1] kvm: ok".into()),
                Event::Stage {
                    name: "kvm".into(),
                    ok: true,
                    line: "##STAGE name=kvm status=ok uptime=20.5".into()
                },
                Event::RunBegin { id: "000".into() },
                t("000", "@@CAP vmx=1"),
                t("000", "##not a marker word"),
                t("000", "@@RESULT pass"),
                Event::RunEnd {
                    id: "000".into(),
                    rc: 1,
                    uptime: Some(25.0)
                },
                Event::Qemu {
                    id: "000".into(),
                    text: "qemu-system-x86_64: warning: x".into()
                },
                Event::RunBegin { id: "001".into() },
                t("001", "half a line"),
                Event::RunEnd {
                    id: "001".into(),
                    rc: 143,
                    uptime: Some(90.0)
                },
                Event::Done,
            ]
        );
    }

    #[test]
    fn failures_and_stray_lines() {
        let events = split("boot noise\n##STAGE name=kvm status=fail why=no-dev-kvm\n");
        assert_eq!(events[0], Event::Other("boot noise".into()));
        assert!(matches!(&events[1], Event::Stage { name, ok: false, .. } if name == "kvm"));
    }
}
