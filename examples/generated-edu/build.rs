//! Generate the registers from the map at build time: src/lib.rs has
//! `include!(concat!(env!("OUT_DIR"), "/edu_toml.rs"))`, and cargo builds
//! again when the map changes.
fn main() {
    let options = mmiodrv::regmap::generate::rust::Options::default();
    if let Err(e) = mmiodrv::regmap::generate::rust::build("../maps/edu.toml", None, "edu_toml.rs", &options) {
        panic!("generating the registers from ../maps/edu.toml: {e}");
    }
}
