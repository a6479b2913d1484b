//! One kernel at a time, for tests and benchmarks: each call uploads its inputs, records one
//! dispatch, submits it and reads the result back. The session never uses this module; it
//! exists so that every shader can be checked against the CPU's scalar reference on its own.

use crate::device::Device;
use crate::model::{TensorDesc, upload_bytes, upload_matrix};
use crate::pipelines::Pipelines;
use crate::{Error, shaders};

/// The compute pipelines of one device, for single-kernel runs.
#[derive(Debug)]
pub struct Runner {
    dev: Device,
}

const NONE: u32 = u32::MAX;

impl Runner {
    /// Builds the pipelines on `dev`.
    pub fn new(dev: &Device) -> Result<Runner, Error> {
        dev.pipelines()?;
        Ok(Runner { dev: dev.clone() })
    }

    fn p(&self) -> Result<&Pipelines, Error> {
        self.dev.pipelines()
    }

    fn storage(&self, what: &str, bytes: &[u8]) -> Result<wgpu::Buffer, Error> {
        upload_bytes(
            &self.dev,
            what,
            bytes,
            wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
        )
    }

    fn uniform(&self, words: &[u32]) -> Result<wgpu::Buffer, Error> {
        upload_bytes(
            &self.dev,
            "parameters",
            bytemuck::cast_slice(words),
            wgpu::BufferUsages::UNIFORM,
        )
    }

    fn bind(&self, layout: &wgpu::BindGroupLayout, bufs: &[&wgpu::Buffer]) -> wgpu::BindGroup {
        let entries: Vec<wgpu::BindGroupEntry<'_>> = bufs
            .iter()
            .enumerate()
            .map(|(i, b)| wgpu::BindGroupEntry {
                binding: i as u32,
                resource: b.as_entire_binding(),
            })
            .collect();
        self.dev
            .device
            .create_bind_group(&wgpu::BindGroupDescriptor {
                label: None,
                layout,
                entries: &entries,
            })
    }

    /// Runs one dispatch and reads `out_bytes` of `out` back as words.
    fn run(
        &self,
        pipe: &wgpu::ComputePipeline,
        bind: &wgpu::BindGroup,
        grid: (u32, u32, u32),
        out: &wgpu::Buffer,
        out_bytes: u64,
    ) -> Result<Vec<u32>, Error> {
        let dev = &self.dev;
        let read = dev.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size: out_bytes.next_multiple_of(4),
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut enc = dev
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
        {
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor::default());
            pass.set_pipeline(pipe);
            pass.set_bind_group(0, bind, &[]);
            pass.dispatch_workgroups(grid.0, grid.1, grid.2);
        }
        enc.copy_buffer_to_buffer(out, 0, &read, 0, out_bytes.next_multiple_of(4));
        dev.scoped("kernel run", 0, || dev.queue.submit([enc.finish()]))?;
        crate::session::read(dev, &read, out_bytes.next_multiple_of(4))
    }

    /// `y[t][r] = W[r] · quant(x[t])` for `n_tok` tokens (`x`: `[n_tok][cols]`), by the
    /// decode build (`prefill == false`: one token per workgroup) or the prefill build (tiles
    /// of 4 tokens). With `norm = Some((gain, eps))` the activations are first RMS-normed
    /// and multiplied by `gain` (`[cols]`), as the layer's first matrix does. Returns
    /// `[n_tok][rows]`.
    pub fn matvec(
        &self,
        w: &TensorDesc<'_>,
        x: &[f32],
        n_tok: usize,
        norm: Option<(&[f32], f32)>,
        prefill: bool,
    ) -> Result<Vec<f32>, Error> {
        let (rows, cols) = (w.rows, w.cols);
        if x.len() != n_tok * cols || n_tok == 0 {
            return Err(Error::Invalid(format!(
                "matvec: x has {} values, want {n_tok} x {cols}",
                x.len()
            )));
        }
        let t = upload_matrix(&self.dev, w, rows, cols)?;
        let (lanes, per_wg) = shaders::matvec_shape(cols);
        let step = self.uniform(&[0, n_tok as u32, 0, 0])?;
        let xb = self.storage("x", bytemuck::cast_slice(x))?;
        let out = self.storage("y", &vec![0u8; n_tok * rows * 4])?;
        let gain: Vec<f32> = norm.map_or(vec![0.0], |n| n.0.to_vec());
        let smalls = self.storage("gain", bytemuck::cast_slice(&gain))?;
        let d_r = self.storage("unused", &[0; 16])?;
        let d_k = self.storage("unused", &[0; 16])?;
        let d_v = self.storage("unused", &[0; 16])?;
        let k = crate::model::is_k(w.ty) as usize;
        let mut words = Vec::new();
        // One dispatch per row range, as the session does.
        for (c, (buf, r0)) in t.chunks.iter().enumerate() {
            let end = t.chunks.get(c + 1).map_or(rows, |n| n.1);
            let groups = ((end - r0) as u32).div_ceil(per_wg);
            let gx = groups.min(65535);
            let mut p = [0u32; 36];
            p[0] = 0; // STORE
            p[1] = cols as u32;
            p[2] = end as u32;
            p[3] = 1;
            p[4] = cols as u32;
            p[5] = rows as u32;
            p[6] = if norm.is_some() { 0 } else { NONE };
            p[7] = norm.map_or(0.0, |n| n.1).to_bits();
            p[8] = t.ty as u32;
            p[12] = *r0 as u32;
            p[16] = t.row_bytes as u32;
            p[20..24].fill(NONE);
            p[26] = lanes;
            p[28] = gx;
            let params = self.uniform(&p)?;
            let bind = self.bind(
                &self.p()?.matvec_layout,
                &[&params, &step, buf, &xb, &out, &smalls, &d_r, &d_k, &d_v],
            );
            let (pipe, gz) = if prefill {
                (
                    &self.p()?.matmul[k],
                    (n_tok as u32).div_ceil(shaders::MATMUL_TILE),
                )
            } else {
                (&self.p()?.matvec[k], n_tok as u32)
            };
            words = self.run(
                pipe,
                &bind,
                (gx, groups.div_ceil(gx), gz),
                &out,
                (n_tok * rows * 4) as u64,
            )?;
        }
        Ok(words.into_iter().map(f32::from_bits).collect())
    }

    /// Rows `ids` of `table`, dequantized: `[ids.len()][cols]`.
    pub fn get_rows(&self, table: &TensorDesc<'_>, ids: &[u32]) -> Result<Vec<f32>, Error> {
        let t = upload_matrix(&self.dev, table, table.rows, table.cols)?;
        if let Some(&bad) = ids.iter().find(|&&i| i as usize >= table.rows) {
            return Err(Error::Invalid(format!("row {bad} out of range")));
        }
        let step = self.uniform(&[0, ids.len() as u32, 0, 0])?;
        let idb = self.storage("ids", bytemuck::cast_slice(ids))?;
        let n = ids.len() * table.cols;
        let out = self.storage("rows", &vec![0u8; n * 4])?;
        let mut words = Vec::new();
        for (c, (buf, r0)) in t.chunks.iter().enumerate() {
            let end = t.chunks.get(c + 1).map_or(table.rows, |n| n.1);
            let mut p = [0u32; 36];
            p[1] = table.cols as u32;
            p[2] = end as u32;
            p[8] = t.ty as u32;
            p[12] = *r0 as u32;
            p[16] = t.row_bytes as u32;
            let params = self.uniform(&p)?;
            let bind = self.bind(
                &self.p()?.get_rows_layout,
                &[&params, &step, buf, &idb, &out],
            );
            words = self.run(
                &self.p()?.get_rows,
                &bind,
                (ids.len() as u32, 1, 1),
                &out,
                (n * 4) as u64,
            )?;
        }
        Ok(words.into_iter().map(f32::from_bits).collect())
    }

    /// Attention of `n_tok` tokens at positions `pos0..` over caches of `pos0 + n_tok`
    /// positions. `q`: `[n_tok][n_head * hd]` f32; `k`, `v`: `[positions][n_kv_head * hd]`
    /// f16 bits. Returns `[n_tok][n_head * hd]`.
    #[allow(clippy::too_many_arguments)]
    pub fn attention(
        &self,
        q: &[f32],
        k: &[u16],
        v: &[u16],
        n_head: usize,
        n_kv_head: usize,
        hd: usize,
        pos0: usize,
        n_tok: usize,
    ) -> Result<Vec<f32>, Error> {
        let (qd, kvd) = (n_head * hd, n_kv_head * hd);
        let mut w = [0u32; 8];
        w[0] = n_head as u32;
        w[1] = n_kv_head as u32;
        w[2] = hd as u32;
        w[3] = kvd as u32;
        w[4] = qd as u32;
        w[5] = (1.0f32 / (hd as f32).sqrt()).to_bits();
        let params = self.uniform(&w)?;
        let step = self.uniform(&[pos0 as u32, n_tok as u32, 0, 0])?;
        let qb = self.storage("q", bytemuck::cast_slice(q))?;
        let kb = self.storage("K", bytemuck::cast_slice(k))?;
        let vb = self.storage("V", bytemuck::cast_slice(v))?;
        let out = self.storage("att", &vec![0u8; n_tok * qd * 4])?;
        let bind = self.bind(
            &self.p()?.attention_layout,
            &[&params, &step, &qb, &kb, &vb, &out],
        );
        let words = self.run(
            &self.p()?.attention,
            &bind,
            (n_head as u32, n_tok as u32, 1),
            &out,
            (n_tok * qd * 4) as u64,
        )?;
        Ok(words.into_iter().map(f32::from_bits).collect())
    }

    /// The argmax kernel: `(index, value)`.
    pub fn argmax(&self, logits: &[f32]) -> Result<(u32, f32), Error> {
        let r = self.select(&self.p()?.argmax, logits, 1)?;
        Ok(r[0])
    }

    /// The top-k kernel: `k` (1..=64) `(index, value)`, best first.
    pub fn top_k(&self, logits: &[f32], k: usize) -> Result<Vec<(u32, f32)>, Error> {
        if k == 0 || k > 64 {
            return Err(Error::Invalid(format!("top-k {k}: must be 1..=64")));
        }
        self.select(&self.p()?.topk, logits, k)
    }

    fn select(
        &self,
        pipe: &wgpu::ComputePipeline,
        logits: &[f32],
        k: usize,
    ) -> Result<Vec<(u32, f32)>, Error> {
        let params = self.uniform(&[logits.len() as u32, k as u32, 0, 0])?;
        let lb = self.storage("logits", bytemuck::cast_slice(logits))?;
        let out = self.storage("result", &vec![0u8; 8 * k])?;
        let bind = self.bind(&self.p()?.select_layout, &[&params, &lb, &out]);
        let w = self.run(pipe, &bind, (1, 1, 1), &out, 8 * k as u64)?;
        Ok((0..k)
            .map(|r| (w[2 * r], f32::from_bits(w[2 * r + 1])))
            .collect())
    }
}
