//! Choosing an adapter and opening a device on it.
//!
//! [`AdapterChoice::Auto`] takes a hardware adapter (discrete before integrated before
//! virtual) and never a software one (llvmpipe, SwiftShader, WARP: `DeviceType::Cpu`), so a
//! machine without a GPU gets [`Error::NoAdapter`], and the caller falls back to the CPU
//! path. [`AdapterChoice::Named`] takes the first adapter whose name contains the text
//! (case-insensitive), software ones included: that is how tests run on llvmpipe.
//!
//! The device is opened with the adapter's own limits (not WebGPU's defaults), so storage
//! bindings up to the adapter's `max_storage_buffer_binding_size` are available (the kernels
//! need seven storage buffers per stage, WebGPU's default allows eight); larger tensors are split by rows ([`crate::GpuModel`]).

use crate::Error;
use crate::pipelines::Pipelines;
use crate::scope::{self, Lost};
use std::sync::{Arc, Mutex, OnceLock};

/// Which adapter to open.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum AdapterChoice {
    /// The best hardware adapter; never a software rasterizer.
    #[default]
    Auto,
    /// The first adapter whose name contains this text, case-insensitive (`"llvmpipe"`).
    Named(String),
}

/// An adapter as listed by [`adapters`].
#[derive(Clone, Debug)]
pub struct AdapterSummary {
    /// Driver's name for it.
    pub name: String,
    /// Vulkan, Metal, …
    pub backend: String,
    /// Discrete / integrated / virtual GPU, or CPU (software).
    pub device_type: String,
    /// Driver name and version.
    pub driver: String,
    /// Largest storage buffer binding, bytes.
    pub max_storage_binding: u64,
    /// Largest buffer, bytes.
    pub max_buffer: u64,
    /// Workgroup shared memory, bytes.
    pub max_workgroup_storage: u32,
}

fn backends() -> wgpu::Backends {
    wgpu::Backends::VULKAN | wgpu::Backends::METAL
}

fn instance() -> wgpu::Instance {
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
    desc.backends = backends();
    wgpu::Instance::new(desc)
}

fn describe(a: &wgpu::Adapter) -> String {
    let i = a.get_info();
    format!("{} ({:?}, {:?})", i.name, i.backend, i.device_type)
}

/// Every adapter of the Vulkan and Metal back ends, with the limits that matter here.
pub fn adapters() -> Vec<AdapterSummary> {
    let inst = instance();
    pollster::block_on(inst.enumerate_adapters(backends()))
        .iter()
        .map(|a| {
            let i = a.get_info();
            let l = a.limits();
            AdapterSummary {
                name: i.name.clone(),
                backend: format!("{:?}", i.backend),
                device_type: format!("{:?}", i.device_type),
                driver: format!("{} {}", i.driver, i.driver_info),
                max_storage_binding: l.max_storage_buffer_binding_size,
                max_buffer: l.max_buffer_size,
                max_workgroup_storage: l.max_compute_workgroup_storage_size,
            }
        })
        .collect()
}

/// An open device and its queue.
#[derive(Clone)]
pub struct Device {
    pub(crate) device: wgpu::Device,
    pub(crate) queue: wgpu::Queue,
    info: wgpu::AdapterInfo,
    pub(crate) limits: wgpu::Limits,
    lost: Lost,
    /// Compiled once per device, on first use, shared by every model on it.
    pipelines: Arc<OnceLock<Pipelines>>,
}

impl core::fmt::Debug for Device {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Device")
            .field("adapter", &self.info.name)
            .field("backend", &self.info.backend)
            .finish()
    }
}

impl Device {
    /// Opens a device on the chosen adapter.
    /// Errors: [`Error::NoAdapter`], [`Error::AdapterNotFound`], [`Error::RequestDevice`].
    pub fn new(choice: &AdapterChoice) -> Result<Device, Error> {
        let inst = instance();
        let all = pollster::block_on(inst.enumerate_adapters(backends()));
        let seen: Vec<String> = all.iter().map(describe).collect();
        let adapter = match choice {
            AdapterChoice::Auto => {
                let rank = |a: &wgpu::Adapter| match a.get_info().device_type {
                    wgpu::DeviceType::DiscreteGpu => Some(0),
                    wgpu::DeviceType::IntegratedGpu => Some(1),
                    wgpu::DeviceType::VirtualGpu => Some(2),
                    wgpu::DeviceType::Other => Some(3),
                    wgpu::DeviceType::Cpu => None,
                };
                all.into_iter()
                    .filter(|a| rank(a).is_some())
                    .min_by_key(|a| rank(a))
                    .ok_or(Error::NoAdapter { seen })?
            }
            AdapterChoice::Named(name) => {
                let want = name.to_lowercase();
                all.into_iter()
                    .find(|a| a.get_info().name.to_lowercase().contains(&want))
                    .ok_or_else(|| Error::AdapterNotFound {
                        name: name.clone(),
                        seen,
                    })?
            }
        };
        let info = adapter.get_info();
        let limits = adapter.limits();
        if limits.max_storage_buffers_per_shader_stage < 7 {
            return Err(Error::RequestDevice {
                adapter: info.name.clone(),
                message: format!(
                    "needs 7 storage buffers per shader stage, the adapter has {}",
                    limits.max_storage_buffers_per_shader_stage
                ),
            });
        }
        let desc = wgpu::DeviceDescriptor {
            label: Some("bague"),
            required_features: wgpu::Features::empty(),
            required_limits: limits.clone(),
            ..Default::default()
        };
        let (device, queue) = pollster::block_on(adapter.request_device(&desc)).map_err(|e| {
            Error::RequestDevice {
                adapter: info.name.clone(),
                message: e.to_string(),
            }
        })?;
        let lost = Arc::new(Mutex::new(None));
        let l2 = lost.clone();
        device.set_device_lost_callback(move |reason, msg| {
            if let Ok(mut g) = l2.lock() {
                *g = Some(format!("{reason:?}: {msg}"));
            }
        });
        Ok(Device {
            device,
            queue,
            info,
            limits,
            lost,
            pipelines: Arc::new(OnceLock::new()),
        })
    }

    /// The adapter's name (`"llvmpipe (LLVM 15.0.6, 256 bits)"`).
    pub fn adapter_name(&self) -> &str {
        &self.info.name
    }

    /// Whether the adapter is a software one (`DeviceType::Cpu`, e.g. llvmpipe).
    pub fn is_software(&self) -> bool {
        self.info.device_type == wgpu::DeviceType::Cpu
    }

    /// Largest storage binding the device accepts, bytes.
    pub fn max_storage_binding(&self) -> u64 {
        self.limits.max_storage_buffer_binding_size
    }

    /// Destroys the device: the lost callback fires, and every later step of a session on
    /// it fails with [`Error::DeviceLost`] (what a driver reset looks like to the caller).
    pub fn destroy(&self) {
        self.device.destroy();
        let _ = self.device.poll(wgpu::PollType::Poll);
    }

    /// The compute pipelines, built on first use (shader compilation can take seconds on
    /// some drivers; it is paid once per device).
    pub(crate) fn pipelines(&self) -> Result<&Pipelines, Error> {
        if let Some(p) = self.pipelines.get() {
            return Ok(p);
        }
        let p = Pipelines::new(&self.device, &self.lost)?;
        Ok(self.pipelines.get_or_init(|| p))
    }

    /// `Err(DeviceLost)` once the device is lost.
    pub(crate) fn check_lost(&self) -> Result<(), Error> {
        scope::check_lost(&self.lost)
    }

    /// Runs `f` inside an error scope: a validation or out-of-memory error becomes
    /// [`Error::Allocation`] naming `what`.
    pub(crate) fn scoped<T>(
        &self,
        what: &str,
        bytes: u64,
        f: impl FnOnce() -> T,
    ) -> Result<T, Error> {
        scope::scoped(&self.device, &self.lost, what, bytes, f)
    }
}
