//! Remote runs (`--host`, docs/remote.md): `near.rs` is the side the user
//! runs, `agent.rs` the far side it starts over ssh. Both are this program;
//! the library's `mmiodrv::remote` has the transport they share.

pub mod agent;
pub mod near;
