//! Nothing to build: this crate only carries the package metadata
//! (`[package.metadata.deb]` and `[package.metadata.generate-rpm]` in its
//! Cargo.toml) for the one Debian/RPM package of the whole suite. See
//! packaging/README.md.
