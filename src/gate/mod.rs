//! The CI regression gate: `isobench compare BASE CUR` compares two run
//! folders, case by case, and says which figures regressed, improved or stayed
//! within the noise — or why it cannot tell.

pub mod stats;
