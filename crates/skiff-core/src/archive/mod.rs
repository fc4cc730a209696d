//! Tar files: the archive Skiff writes, the ones others made, and bounds on both.

/// The docker-load / OCI-layout archive, described as parts.
pub mod layout;
/// An image archive picked to push: its tar index, its layout, the blobs of each image.
pub mod push_archive;
/// Where each image of a pushed archive goes.
pub mod push_targets;
/// The images of a picked archive, whichever tool wrote it.
pub mod read_images;
/// One entry's tar header as bytes (PAX records for long names), for every writer.
pub mod tar_header;
/// Where each file of a tar archive is, read header by header.
pub mod tar_index;
/// Bounds on tar streams from others: long names, entries, path length and depth.
pub mod tar_limits;
/// A tar writer that emits parts, so a driver assembles the archive from staged blobs.
pub mod tar_parts;
