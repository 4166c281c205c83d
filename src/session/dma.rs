//! A session's DMA buffers: numbered in order of allocation, each freed on
//! its own or with the session, IOVAs chosen where they fit.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::FIRST_IOVA;
use crate::backend::{Backend, DmaBuffer};
use crate::error::{Error, Result};
use crate::outcome::DmaInfo;

const PAGE: u64 = 4096;

fn pages(len: u64) -> u64 {
    len.div_ceil(PAGE).saturating_mul(PAGE)
}

/// The live buffers, by number.
#[derive(Default)]
pub(super) struct Pool {
    next: usize,
    buffers: BTreeMap<usize, Arc<DmaBuffer>>,
}

impl Pool {
    /// The lowest page-aligned IOVA from [`FIRST_IOVA`] up where `len` bytes
    /// fit between the live buffers.
    fn free_iova(&self, len: u64) -> u64 {
        let mut spans: Vec<(u64, u64)> =
            self.buffers.values().map(|b| (b.iova(), b.iova().saturating_add(pages(b.len() as u64)))).collect();
        spans.sort_unstable();
        let mut at = FIRST_IOVA;
        for (start, end) in spans {
            if at.saturating_add(pages(len)) <= start {
                break;
            }
            at = at.max(end);
        }
        at
    }

    /// A buffer of `len` bytes mapped for the device at `iova` (None: the
    /// lowest free one).
    pub(super) fn alloc(
        &mut self,
        backend: &dyn Backend,
        len: usize,
        iova: Option<u64>,
        mask_bits: u32,
    ) -> Result<DmaInfo> {
        let iova = iova.unwrap_or_else(|| self.free_iova(len as u64));
        let buffer = backend.dma_buffer(len, iova, mask_bits)?;
        let id = self.next;
        self.next += 1;
        self.buffers.insert(id, Arc::new(buffer));
        Ok(DmaInfo { buffer: id, iova, len: len as u64 })
    }

    /// Buffer `id`, unless it was freed.
    pub(super) fn get(&self, id: usize) -> Result<Arc<DmaBuffer>> {
        self.buffers.get(&id).cloned().ok_or_else(|| {
            let live: Vec<String> = self.buffers.keys().map(usize::to_string).collect();
            let live = if live.is_empty() { "none".to_string() } else { live.join(", ") };
            Error::invalid(id.to_string(), format!("no DMA buffer {id} (this session has: {live})"))
        })
    }

    /// Unmap and free buffer `id` (once nothing else holds it); false when
    /// it was already.
    pub(super) fn free(&mut self, id: usize) -> bool {
        self.buffers.remove(&id).is_some()
    }

    /// The live buffers, in order.
    pub(super) fn buffers(&self) -> impl Iterator<Item = (usize, &Arc<DmaBuffer>)> {
        self.buffers.iter().map(|(i, b)| (*i, b))
    }
}
