//! The store: owns a `BTreeMap<String, String>` that only this compartment's view maps.
//! Callers reach it only through the `store` interface (examples/kvstore/api).
#![no_std]
#![no_main]

use alloc::collections::BTreeMap;
use kvstore_api::store::Store;
use kvstore_api::{CAPACITY, Command, MAX_KEY, Outcome, Stats, StoreError};
use tessera_sdk::alloc;
use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

#[derive(Default)]
struct Map {
    map: BTreeMap<String, String>,
    stats: Stats,
}

impl Map {
    fn check(key: &str) -> Result<(), StoreError> {
        if key.len() > MAX_KEY {
            return Err(StoreError::KeyTooLong {
                max: MAX_KEY as u32,
            });
        }
        Ok(())
    }

    fn count(&mut self) {
        self.stats.keys = self.map.len() as u32;
        self.stats.bytes = self
            .map
            .iter()
            .map(|(k, v)| (k.len() + v.len()) as u64)
            .sum();
    }
}

impl Store for Map {
    fn put(&mut self, key: &str, value: &str) -> Result<Option<String>, StoreError> {
        Self::check(key)?;
        if self.map.len() >= CAPACITY && !self.map.contains_key(key) {
            return Err(StoreError::Full {
                capacity: CAPACITY as u32,
            });
        }
        self.stats.puts += 1;
        let old = self.map.insert(key.into(), value.into());
        self.count();
        Ok(old)
    }

    fn get(&mut self, key: &str) -> Result<String, StoreError> {
        Self::check(key)?;
        self.stats.gets += 1;
        let found = self.map.get(key).cloned();
        if found.is_none() {
            self.stats.misses += 1;
        }
        found.ok_or(StoreError::NotFound)
    }

    fn delete(&mut self, key: &str) -> Result<String, StoreError> {
        Self::check(key)?;
        let old = self.map.remove(key).ok_or(StoreError::NotFound);
        self.count();
        old
    }

    fn apply(&mut self, command: Command) -> Result<Outcome, StoreError> {
        match command {
            Command::Put { key, value } => self.put(&key, &value).map(Outcome::Stored),
            Command::Get { key } => self.get(&key).map(Outcome::Value),
            Command::Delete { key } => self.delete(&key).map(Outcome::Value),
            Command::Stats => Ok(Outcome::Stats(self.stats())),
        }
    }

    fn stats(&mut self) -> Stats {
        self.stats
    }
}

tessera_sdk::serve!(kvstore_api::store, Map);

fn main() {
    println!("store: ready");
}
