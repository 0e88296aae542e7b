//! Variables as Compose has them: `${NAME}` interpolation with every form
//! Compose knows (`interpolate.rs`), `.env` files as Compose reads them
//! (`dotenv.rs`), and where a stack's variables come from: the
//! environment, then the files its `dotenv` key lists (`sources.rs`).

pub mod dotenv;
pub mod interpolate;
pub mod sources;
