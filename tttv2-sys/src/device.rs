use cxx::UniquePtr;
use tttv2_core::device::DeviceProfile;

use crate::bridge::ffi;
use crate::convert;
use crate::error::{Error, Result};

/// An open device. On the host backend it is an emulated board with the profile's grid and L1;
/// on the TT-NN backend it is the real device, checked against the profile when opened.
pub struct Device {
    pub(crate) inner: UniquePtr<ffi::Device>,
    profile: DeviceProfile,
}

impl Device {
    /// Opens device 0 as `profile`.
    pub fn open(profile: &DeviceProfile) -> Result<Device> {
        Self::open_id(profile, 0)
    }

    /// Opens device `device_id` as `profile`.
    pub fn open_id(profile: &DeviceProfile, device_id: u32) -> Result<Device> {
        let desc = convert::device_desc(profile);
        let inner = ffi::open_device(&desc, device_id).map_err(|e| Error::Device(e.what().to_owned()))?;
        // The backend reports the device it actually opened; a real device must match the
        // profile the plans assume.
        let actual = ffi::device_desc(&inner);
        if actual.grid_x != desc.grid_x || actual.grid_y != desc.grid_y || actual.arch != desc.arch {
            return Err(Error::Device(format!(
                "opened device {device_id} has compute grid {}x{} ({:?}) but the profile `{}` assumes {}x{} ({:?})",
                actual.grid_x, actual.grid_y, actual.arch, profile.name, desc.grid_x, desc.grid_y, desc.arch
            )));
        }
        Ok(Device { inner, profile: *profile })
    }

    /// The profile the device was opened as.
    pub fn profile(&self) -> &DeviceProfile {
        &self.profile
    }

    /// Fails unless the device is the board a model was compiled for.
    pub fn expect_profile(&self, planned: &DeviceProfile) -> Result<()> {
        if self.profile.name != planned.name || self.profile.compute_grid != planned.compute_grid {
            return Err(Error::Device(format!(
                "the model was compiled for `{}` (grid {}x{}) but the device is `{}` (grid {}x{}); rebuild the model for this device",
                planned.name,
                planned.compute_grid.x,
                planned.compute_grid.y,
                self.profile.name,
                self.profile.compute_grid.x,
                self.profile.compute_grid.y
            )));
        }
        Ok(())
    }

    /// Which backend this build runs on: `"host"` or `"ttnn"`.
    pub fn backend() -> String {
        ffi::backend_name()
    }
}
