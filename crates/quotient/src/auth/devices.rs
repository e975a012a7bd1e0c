//! The account's devices: list, rename, delete (through UIA), and
//! logging every device out at once.
//!
//! Spec: [Device management](https://spec.matrix.org/v1.19/client-server-api/#device-management),
//! [`POST /logout/all`](https://spec.matrix.org/v1.19/client-server-api/#post_matrixclientv3logoutall).

use quotient_api::generated::device_management::{DeleteDevice, GetDevices, UpdateDevice};
use quotient_api::generated::logout::LogoutAll;

use crate::{Connection, Error, StatusCode, UiaHandler};

pub use quotient_api::generated::definitions::Device;

impl Connection {
    /// The devices of the signed-in account (`GET /devices`), in the
    /// server's order. [`Connection::session`] tells which one is this
    /// connection's.
    ///
    /// ```no_run
    /// # async fn demo(conn: &quotient::Connection) -> Result<(), quotient::Error> {
    /// let mine = conn.session().map(|s| s.device_id);
    /// for device in conn.devices().await? {
    ///     let this = mine.as_deref() == Some(device.device_id.as_str());
    ///     println!("{} {:?}{}", device.device_id, device.display_name, if this { " (this one)" } else { "" });
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn devices(&self) -> Result<Vec<Device>, Error> {
        Ok(self
            .submit(GetDevices::new())
            .await?
            .into_value()
            .devices
            .unwrap_or_default())
    }

    /// Gives `device_id` a new display name (`PUT /devices/{deviceId}`).
    /// An unknown device fails with `NotFound`.
    pub async fn rename_device(&self, device_id: &str, display_name: &str) -> Result<(), Error> {
        check_device_id(device_id)?;
        let mut request = UpdateDevice::new(device_id.to_owned());
        request.display_name = Some(display_name.to_owned());
        self.submit(request).await?;
        Ok(())
    }

    /// Deletes `device_id` (`DELETE /devices/{deviceId}`): the server
    /// invalidates its access token and forgets its keys. The server asks
    /// for User-Interactive Authentication, which `handler` answers (a
    /// [`PasswordHandler`](crate::PasswordHandler) does the usual
    /// password stage). A wrong password fails with `Unauthorised` and
    /// the challenge attached.
    ///
    /// Deleting this connection's own device ends its session: the
    /// connection forgets it, as after [`logout`](Self::logout).
    ///
    /// ```no_run
    /// # async fn demo(conn: &quotient::Connection, password: quotient::SecretString) -> Result<(), quotient::Error> {
    /// use quotient::PasswordHandler;
    /// let mut handler = PasswordHandler::new("@alice:example.org", password);
    /// conn.delete_device("OLDPHONE", &mut handler).await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete_device<H: UiaHandler>(
        &self,
        device_id: &str,
        handler: &mut H,
    ) -> Result<(), Error> {
        check_device_id(device_id)?;
        let own = self.session().is_some_and(|s| s.device_id == device_id);
        self.send_with_uia(
            DeleteDevice::new(device_id.to_owned()),
            handler,
            self.default_job_options().clone(),
        )
        .await?;
        if own {
            self.set_session(None);
        }
        tracing::debug!(device_id, own, "device deleted");
        Ok(())
    }

    /// Logs out every device of the account, this one included
    /// (`POST /logout/all`): all their access tokens stop working. The
    /// connection forgets its session.
    pub async fn logout_all(&self) -> Result<(), Error> {
        self.submit(LogoutAll::new()).await?;
        self.set_session(None);
        Ok(())
    }
}

/// An empty ID would address `/devices/`, which is another endpoint.
fn check_device_id(device_id: &str) -> Result<(), Error> {
    if device_id.is_empty() {
        return Err(Error::new(
            StatusCode::IncorrectRequest,
            "the device ID is empty",
        ));
    }
    Ok(())
}
