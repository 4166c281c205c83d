//! `mmiodrv e1000 ...`.

use serde::Serialize;

use super::{Link, MacAddress, E1000};
use mmiodrv::command::{Arg, Call, Command, Needs, Report, Run};
use mmiodrv::error::{DeviceRef, Result};

/// `e1000 mac`.
const MAC: Command = Command {
    name: "mac",
    about: "Print the MAC address: receive address 0 (RAL0/RAH0) and the EEPROM's copy (through EERD)",
    args: &[Arg::flag("eeprom", "Only the EEPROM's copy (works before a driver has programmed RAL0/RAH0)")],
    subcommands: &[],
    examples: &[("mmiodrv -s 00:07.0 e1000 mac", "the MAC `ip link` shows, read from the device")],
    needs: Needs::Device,
    run: Run::Call(mac),
    aliases: &[],
    hidden: false,
};

/// `e1000 link`.
const LINK: Command = Command {
    name: "link",
    about: "Print link state, speed and duplex (STATUS)",
    args: &[],
    subcommands: &[],
    examples: &[("mmiodrv -s 00:07.0 e1000 link", "link up, 1000 Mb/s, full duplex")],
    needs: Needs::Device,
    run: Run::Call(link),
    aliases: &[],
    hidden: false,
};

/// e1000's subcommands.
pub const COMMANDS: &[Command] = &[MAC, LINK, super::net::TX, super::net::RX, super::net::STATS];

/// The JSON each command reports, declared with the command.
pub fn results(r: &mut mmiodrv::schema::Results) {
    let e1000 = &super::DRIVER.command;
    r.add::<MacReport>(&[e1000, &MAC]).add::<EepromMacReport>(&[e1000, &MAC]).add::<LinkReport>(&[e1000, &LINK]);
    super::net::results(r);
}

/// Where `e1000 mac` read the address.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
enum MacSource {
    /// The EEPROM's copy (`--eeprom`).
    Eeprom,
}

/// `e1000 mac`: the address, receive address 0's and the EEPROM's.
#[derive(Serialize, schemars::JsonSchema)]
struct MacReport {
    /// The device.
    device: DeviceRef,
    /// The MAC address: receive address 0's when valid, else the EEPROM's.
    mac: MacAddress,
    /// Receive address 0 (RAL0/RAH0), null when not valid.
    receive_address_0: Option<MacAddress>,
    /// The EEPROM's copy.
    eeprom: MacAddress,
}

/// `e1000 mac --eeprom`: the EEPROM's copy only.
#[derive(Serialize, schemars::JsonSchema)]
struct EepromMacReport {
    /// The device.
    device: DeviceRef,
    /// The MAC address in the EEPROM.
    mac: MacAddress,
    /// `eeprom`.
    source: MacSource,
}

/// `e1000 link`: STATUS decoded.
#[derive(Serialize, schemars::JsonSchema)]
struct LinkReport {
    /// The device.
    device: DeviceRef,
    /// The link.
    link: Link,
}

fn mac(call: &mut Call<'_>) -> Result<()> {
    let dev = call.device()?;
    let e = E1000::open(dev.backend())?;
    let name = dev.device();
    let eeprom = e.eeprom_mac_address()?;
    if call.args.flag("eeprom") {
        let line = format!("{name}: MAC {eeprom} (EEPROM)");
        let json = EepromMacReport { device: name, mac: eeprom, source: MacSource::Eeprom };
        call.report(Report::line(json, line));
        return Ok(());
    }
    let ral = e.mac_address()?;
    let line = match ral {
        Some(m) if m == eeprom => format!("{name}: MAC {m} (receive address 0; the EEPROM agrees)"),
        Some(m) => format!("{name}: MAC {m} (receive address 0; the EEPROM says {eeprom})"),
        None => format!("{name}: MAC {eeprom} (EEPROM; receive address 0 is not valid)"),
    };
    let json = MacReport { device: name, mac: ral.unwrap_or(eeprom), receive_address_0: ral, eeprom };
    call.report(Report::line(json, line));
    Ok(())
}

fn link(call: &mut Call<'_>) -> Result<()> {
    let dev = call.device()?;
    let e = E1000::open(dev.backend())?;
    let name = dev.device();
    let l = e.link()?;
    let line = if l.up {
        format!(
            "{name}: link up, {} Mb/s, {} duplex (STATUS {:#010x})",
            l.speed_mbps,
            if l.full_duplex { "full" } else { "half" },
            l.status
        )
    } else {
        format!("{name}: link down (STATUS {:#010x})", l.status)
    };
    call.report(Report::line(LinkReport { device: name, link: l }, line));
    Ok(())
}
