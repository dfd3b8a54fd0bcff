//! The Tessera compartment SDK.
#![no_std]
