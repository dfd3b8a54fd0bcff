//! Reading one `@@BENCH {json}` line (docs/transcript.md): the JSON object a benchmark
//! compartment reported, with the member L1 put first, checked for the members every
//! line has.

use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::{Map, Value};
use std::fmt;
use tessera_abi::transcript::IDENTITY_KEYS;

/// What one `@@BENCH` line says.
#[derive(Clone, Debug, PartialEq)]
pub struct BenchLine {
    pub compartment: String,
    pub name: String,
    pub iterations: u64,
    pub min: u64,
    pub median: u64,
    pub p99: u64,
    pub max: u64,
    /// Exits of the whole timed loop (`exits_per_iter[0]`).
    pub exits: u64,
    pub overhead: u64,
    pub views: Option<u64>,
    /// The whole object, members in the order written (the result file keeps it).
    pub json: Map<String, Value>,
}

/// The members every line has, as the benchmark kit writes them.
#[derive(Deserialize)]
struct Members {
    compartment: String,
    name: String,
    engine_ticks: String,
    iterations: u64,
    min: u64,
    median: u64,
    p99: u64,
    max: u64,
    exits_per_iter: (u64, u64),
    overhead: u64,
    views: Option<u64>,
}

/// A JSON object's members exactly as written: in order, a repeated name kept twice (a
/// map would keep one of them and hide the repetition).
struct Ordered(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Ordered {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Members;
        impl<'de> Visitor<'de> for Members {
            type Value = Ordered;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Ordered, A::Error> {
                let mut members = Vec::new();
                while let Some(member) = map.next_entry::<String, Value>()? {
                    members.push(member);
                }
                Ok(Ordered(members))
            }
        }
        deserializer.deserialize_map(Members)
    }
}

impl BenchLine {
    /// Parses the JSON of a `@@BENCH` line. Who measured is L1's word: the first member
    /// is `compartment` (L1 puts it there and refuses reports naming an identity key,
    /// `tessera_abi::transcript::IDENTITY_KEYS`), and no other member may name one; no
    /// member may appear twice.
    pub fn parse(text: &str) -> Result<BenchLine, String> {
        let fail = |why: &dyn fmt::Display| format!("@@BENCH {text}: {why}");
        let Ordered(members) = serde_json::from_str(text).map_err(|e| fail(&e))?;
        let identity = |k: &str| IDENTITY_KEYS.contains(&k);
        let first = members.first().map(|(k, _)| k.as_str());
        if first != Some("compartment") || members[1..].iter().any(|(k, _)| identity(k)) {
            return Err(fail(
                &"compartment must be the first member and no other member may name an \
                  identity key (the hypervisor writes them)",
            ));
        }
        let mut json = Map::new();
        for (key, value) in members {
            if json.contains_key(&key) {
                return Err(fail(&format_args!("member {key} appears twice")));
            }
            json.insert(key, value);
        }
        let m = Members::deserialize(&Value::Object(json.clone())).map_err(|e| fail(&e))?;
        if m.engine_ticks != "tsc" {
            return Err(fail(&"engine_ticks is not \"tsc\""));
        }
        let (exits, per) = m.exits_per_iter;
        if per != m.iterations || m.iterations == 0 {
            return Err(fail(&format_args!(
                "exits_per_iter is not per {} iterations",
                m.iterations
            )));
        }
        Ok(BenchLine {
            compartment: m.compartment,
            name: m.name,
            iterations: m.iterations,
            min: m.min,
            median: m.median,
            p99: m.p99,
            max: m.max,
            exits,
            overhead: m.overhead,
            views: m.views,
            json,
        })
    }

    /// VM exits per iteration, exactly: `(exits, iterations)`.
    pub fn exits_per_iter(&self) -> (u64, u64) {
        (self.exits, self.iterations)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::fixtures::line;

    #[test]
    fn bench_lines_parse_and_bad_ones_say_why() {
        let l = BenchLine::parse(&line("gate-rr", 0, r#","views":16"#)).unwrap();
        assert_eq!(
            (l.name.as_str(), l.median, l.views, l.exits_per_iter()),
            ("gate-rr", 12, Some(16), (0, 10_000))
        );
        assert_eq!(
            l.json.keys().next().map(String::as_str),
            Some("compartment")
        );
        let wrong_ratio = line("x", 0, "").replace("[0,10000]", "[0,10]");
        assert!(
            BenchLine::parse(&wrong_ratio)
                .unwrap_err()
                .contains("exits_per_iter")
        );
        let no_pair = line("x", 0, "").replace("[0,10000]", "2");
        assert!(BenchLine::parse(&no_pair).is_err());
        let no_min = line("x", 0, "").replace(r#""min":10,"#, "");
        assert!(BenchLine::parse(&no_min).unwrap_err().contains("min"));
        let ticks = line("x", 0, "").replace("tsc", "ns");
        assert!(BenchLine::parse(&ticks).is_err());
        assert!(BenchLine::parse("[1,2]").is_err());
        assert!(BenchLine::parse("{\"compartment\":").is_err());
    }

    #[test]
    fn identity_comes_from_l1_only_first_and_once() {
        let forged = line("x", 0, r#","compartment":"victim""#);
        assert!(BenchLine::parse(&forged).unwrap_err().contains("identity"));
        let moved = line("x", 0, "")
            .replace(r#""compartment":"bench","#, "")
            .replace('}', r#","compartment":"bench"}"#);
        assert!(
            BenchLine::parse(&moved)
                .unwrap_err()
                .contains("first member")
        );
        let cpu = line("x", 0, r#","cpu":0"#);
        assert!(BenchLine::parse(&cpu).is_err());
        let twice = line("x", 0, r#","median":1"#);
        assert!(BenchLine::parse(&twice).unwrap_err().contains("twice"));
    }
}
