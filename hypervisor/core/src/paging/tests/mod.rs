//! Unit tests of the page-table builder, one file per concern.

mod eptp;
mod formats;

