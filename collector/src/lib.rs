pub mod attribution;
pub mod destination;
pub mod ids;
pub mod model;
pub mod money;
pub mod params;
pub mod store;
