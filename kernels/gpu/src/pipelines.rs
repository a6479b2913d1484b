//! Bind group layouts and compute pipelines, built once per model.

use crate::Error;
use crate::scope::{self, Lost};
use crate::shaders::Module;

#[derive(Debug)]
pub(crate) struct Pipelines {
    pub matvec_layout: wgpu::BindGroupLayout,
    pub attention_layout: wgpu::BindGroupLayout,
    pub get_rows_layout: wgpu::BindGroupLayout,
    pub select_layout: wgpu::BindGroupLayout,
    /// Decode (one token): [Q8_0/Q8_1 activations, Q8_K activations].
    pub matvec: [wgpu::ComputePipeline; 2],
    /// Prefill (tiles of 4 tokens): [Q8_0/Q8_1, Q8_K].
    pub matmul: [wgpu::ComputePipeline; 2],
    pub attention: wgpu::ComputePipeline,
    pub get_rows: wgpu::ComputePipeline,
    pub argmax: wgpu::ComputePipeline,
    pub topk: wgpu::ComputePipeline,
}

/// Binding kinds of a layout, in binding order.
#[derive(Clone, Copy)]
enum B {
    Uniform,
    Read,
    ReadWrite,
}

fn layout(dev: &wgpu::Device, label: &str, kinds: &[B]) -> wgpu::BindGroupLayout {
    let entries: Vec<wgpu::BindGroupLayoutEntry> = kinds
        .iter()
        .enumerate()
        .map(|(i, k)| wgpu::BindGroupLayoutEntry {
            binding: i as u32,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Buffer {
                ty: match k {
                    B::Uniform => wgpu::BufferBindingType::Uniform,
                    B::Read => wgpu::BufferBindingType::Storage { read_only: true },
                    B::ReadWrite => wgpu::BufferBindingType::Storage { read_only: false },
                },
                has_dynamic_offset: false,
                min_binding_size: None,
            },
            count: None,
        })
        .collect();
    dev.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some(label),
        entries: &entries,
    })
}

fn pipeline(
    dev: &wgpu::Device,
    lost: &Lost,
    m: Module,
    bgl: &wgpu::BindGroupLayout,
) -> Result<wgpu::ComputePipeline, Error> {
    scope::scoped(
        dev,
        lost,
        &format!("compute pipeline {}", m.name()),
        0,
        || {
            let src = m.source();
            let module = dev.create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(m.name()),
                source: wgpu::ShaderSource::Wgsl(src.into()),
            });
            let pl = dev.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                label: Some(m.name()),
                bind_group_layouts: &[Some(bgl)],
                immediate_size: 0,
            });
            dev.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(m.name()),
                layout: Some(&pl),
                module: &module,
                entry_point: Some("main"),
                // Every shared array is written before it is read.
                compilation_options: wgpu::PipelineCompilationOptions {
                    zero_initialize_workgroup_memory: false,
                    ..Default::default()
                },
                cache: None,
            })
        },
    )
}

impl Pipelines {
    /// Builds every layout and pipeline on `dev` (errors: [`Error::Allocation`] naming the
    /// pipeline, [`Error::DeviceLost`]).
    pub fn new(dev: &wgpu::Device, lost: &Lost) -> Result<Pipelines, Error> {
        use B::*;
        let matvec_layout = layout(
            dev,
            "matvec",
            &[
                Uniform, Uniform, Read, Read, ReadWrite, Read, Read, ReadWrite, ReadWrite,
            ],
        );
        let attention_layout = layout(
            dev,
            "attention",
            &[Uniform, Uniform, Read, Read, Read, ReadWrite],
        );
        let get_rows_layout = layout(dev, "get_rows", &[Uniform, Uniform, Read, Read, ReadWrite]);
        let select_layout = layout(dev, "argmax/topk", &[Uniform, Read, ReadWrite]);
        Ok(Pipelines {
            matvec: [
                pipeline(dev, lost, Module::MatvecB32, &matvec_layout)?,
                pipeline(dev, lost, Module::MatvecK, &matvec_layout)?,
            ],
            matmul: [
                pipeline(dev, lost, Module::MatmulB32, &matvec_layout)?,
                pipeline(dev, lost, Module::MatmulK, &matvec_layout)?,
            ],
            attention: pipeline(dev, lost, Module::Attention, &attention_layout)?,
            get_rows: pipeline(dev, lost, Module::GetRows, &get_rows_layout)?,
            argmax: pipeline(dev, lost, Module::Argmax, &select_layout)?,
            topk: pipeline(dev, lost, Module::Topk, &select_layout)?,
            matvec_layout,
            attention_layout,
            get_rows_layout,
            select_layout,
        })
    }
}
