//! The body bytes one `read` hands a plugin, copied into the plugin's memory straight from the
//! HTTP client's buffers.
//!
//! The generated bindings return a `list<u8>` as one `Vec<u8>`, so the frames that arrived
//! since the last read would first be gathered into it: a copy of every byte of the stream
//! before the copy into the guest (measured: a fifth of the plugin's extra time over native
//! code on a stream of small events). [`Frames`] lowers as a `list<u8>` by copying each frame
//! into the guest's allocation, and [`link`] installs a `response.read` that returns it in
//! place of the generated one.
//!
//! wasmtime has no public way to lower a list from several buffers, so [`Frames`] implements
//! its `ComponentType` and `Lower`, whose items are hidden (they are there for wasmtime's
//! derive macros): the layout below is the canonical ABI's for a list (a pointer and a length,
//! 32-bit in memory), as wasmtime 48 writes it for `[u8]`, and the type check is the one of
//! `[u8]`. The HTTP tests read every body through it.

use std::mem::MaybeUninit;

use bytes::Bytes;
use wasmtime::StoreContextMut;
use wasmtime::ValRaw;
use wasmtime::component::__internal::{CanonicalAbiInfo, InstanceType, InterfaceType, LowerContext};
use wasmtime::component::{ComponentType, Linker, Lower, Resource};

use super::bindings::v0_3_0;
use super::compat;
use super::host_http::HttpResponse;
use super::runtime::HostState;

/// Body frames as the HTTP client read them, handed to a plugin as one `list<u8>`.
#[derive(Debug, Default)]
pub struct Frames {
    frames: Vec<Bytes>,
    len: usize,
}

impl Frames {
    /// Adds a frame after the others.
    pub fn push(&mut self, frame: Bytes) {
        self.len += frame.len();
        self.frames.push(frame);
    }

    /// How many bytes the frames hold.
    pub fn len(&self) -> usize {
        self.len
    }

    /// The bytes in one buffer.
    pub fn into_vec(self) -> Vec<u8> {
        let mut all = Vec::with_capacity(self.len);
        for frame in &self.frames {
            all.extend_from_slice(frame);
        }
        all
    }

    /// Copies the bytes into a fresh allocation of the guest's; returns where it is.
    fn store<T>(&self, cx: &mut LowerContext<'_, T>) -> wasmtime::Result<usize> {
        let at = cx.realloc(0, 0, 1, self.len)?;
        let memory = cx.as_slice_mut();
        let Some(target) = memory.get_mut(at..).and_then(|rest| rest.get_mut(..self.len)) else {
            wasmtime::bail!("the plugin's allocator returned memory out of bounds");
        };
        let mut filled = 0;
        for frame in &self.frames {
            target[filled..filled + frame.len()].copy_from_slice(frame);
            filled += frame.len();
        }
        Ok(at)
    }
}

// SAFETY: `Lower` is two raw values (pointer and length) and the ABI is the canonical list's,
// exactly as wasmtime declares them for `[u8]`, whose type check this one is.
unsafe impl ComponentType for Frames {
    type Lower = [ValRaw; 2];

    const ABI: CanonicalAbiInfo = CanonicalAbiInfo::POINTER_PAIR;

    fn typecheck(ty: &InterfaceType, types: &InstanceType<'_>) -> wasmtime::Result<()> {
        <[u8] as ComponentType>::typecheck(ty, types)
    }
}

// SAFETY: both lowerings initialise everything they promise: the flat pair in full, and the
// eight bytes at `offset` that the caller checked are in bounds for `Self::SIZE32`.
unsafe impl Lower for Frames {
    fn linear_lower_to_flat<T>(
        &self,
        cx: &mut LowerContext<'_, T>,
        _ty: InterfaceType,
        dst: &mut MaybeUninit<[ValRaw; 2]>,
    ) -> wasmtime::Result<()> {
        let at = self.store(cx)?;
        // As wasmtime's own lists: 64-bit values, which a 32-bit memory reads the low half of.
        dst.write([ValRaw::i64(at as i64), ValRaw::i64(self.len as i64)]);
        Ok(())
    }

    fn linear_lower_to_memory<T>(
        &self,
        cx: &mut LowerContext<'_, T>,
        _ty: InterfaceType,
        offset: usize,
    ) -> wasmtime::Result<()> {
        let at = self.store(cx)?;
        *cx.get::<4>(offset) = u32::try_from(at)?.to_le_bytes();
        *cx.get::<4>(offset + 4) = u32::try_from(self.len)?.to_le_bytes();
        Ok(())
    }
}

/// Installs, for every contract version, the `response.read` that hands over [`Frames`]
/// instead of the generated one (which stays as the trait's, reading the same way).
pub fn link(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    link_read(linker, "0.1.0", compat::http_error_0_1)?;
    link_read(linker, "0.2.0", compat::http_error_0_2)?;
    link_read(linker, "0.3.0", |e| e)?;
    linker.allow_shadowing(false);
    Ok(())
}

/// The `read` of `aish:plugin/http@{version}`, its errors in that version's type.
fn link_read<E>(
    linker: &mut Linker<HostState>,
    version: &str,
    error: fn(v0_3_0::aish::plugin::http::HttpError) -> E,
) -> wasmtime::Result<()>
where
    E: Lower + Send + Sync + 'static,
{
    linker.instance(&format!("aish:plugin/http@{version}"))?.func_wrap_async(
        "[method]response.read",
        move |mut store: StoreContextMut<'_, HostState>, (response,): (Resource<HttpResponse>,)| {
            Box::new(async move {
                let state = super::runtime::enter_host(store.data_mut());
                let read = state.read_frames(response).await?;
                Ok((read.map_err(error),))
            })
        },
    )
}
