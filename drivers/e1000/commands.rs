//! `mmiodrv e1000 ...`.

use serde_json::json;

use super::E1000;
use crate::command::{Arg, Call, Command, Needs, Report, Run};
use crate::error::Result;

/// e1000's subcommands.
pub const COMMANDS: &[Command] = &[
    Command {
        name: "mac",
        about: "Print the MAC address: receive address 0 (RAL0/RAH0) and the EEPROM's copy (through EERD)",
        args: &[Arg::flag("eeprom", "Only the EEPROM's copy (works before a driver has programmed RAL0/RAH0)")],
        subcommands: &[],
        examples: &[("mmiodrv -s 00:07.0 e1000 mac", "the MAC `ip link` shows, read from the device")],
        needs: Needs::Device,
        run: Run::Call(mac),
        aliases: &[],
        hidden: false,
    },
    Command {
        name: "link",
        about: "Print link state, speed and duplex (STATUS)",
        args: &[],
        subcommands: &[],
        examples: &[("mmiodrv -s 00:07.0 e1000 link", "link up, 1000 Mb/s, full duplex")],
        needs: Needs::Device,
        run: Run::Call(link),
        aliases: &[],
        hidden: false,
    },
];

fn mac(call: &mut Call<'_>) -> Result<()> {
    let dev = call.device()?;
    let e = E1000::open(dev.backend())?;
    let name = dev.device();
    let eeprom = e.eeprom_mac_address()?;
    if call.args.flag("eeprom") {
        let line = format!("{name}: MAC {eeprom} (EEPROM)");
        call.report(Report::line(json!({ "device": name, "mac": eeprom, "source": "eeprom" }), line));
        return Ok(());
    }
    let ral = e.mac_address()?;
    let line = match ral {
        Some(m) if m == eeprom => format!("{name}: MAC {m} (receive address 0; the EEPROM agrees)"),
        Some(m) => format!("{name}: MAC {m} (receive address 0; the EEPROM says {eeprom})"),
        None => format!("{name}: MAC {eeprom} (EEPROM; receive address 0 is not valid)"),
    };
    let json = json!({ "device": name, "mac": ral.unwrap_or(eeprom), "receive_address_0": ral, "eeprom": eeprom });
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
    call.report(Report::line(json!({ "device": name, "link": l }), line));
    Ok(())
}
