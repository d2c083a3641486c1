use super::*;

#[test]
fn builtins_are_valid_and_named() {
    for name in BUILTIN_PROFILES {
        let chip = ChipProfile::builtin(name).expect("builtin exists");
        assert_eq!(chip.name, *name);
        chip.validate().expect("builtin is valid");
    }
}

#[test]
fn limits_follow_the_published_figures() {
    let l1 = ChipProfile::loihi1();
    assert_eq!((l1.cores_per_chip(), l1.core.neurons), (128, 1024));
    assert_eq!((l1.core.input_axons, l1.core.output_axons), (4096, 4096));
    assert_eq!(l1.core.memory.capacity_bits(), 1_048_576);
    let l2 = ChipProfile::loihi2();
    assert_eq!((l2.cores_per_chip(), l2.core.neurons), (128, 8192));
    assert_eq!(l2.core.memory.capacity_bits(), 192 * 1024 * 8);
    assert_eq!(l2.total_cores(), 128);
}

#[test]
fn unknown_name_lists_the_builtins() {
    let err = ChipProfile::builtin("loihi9").unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("'loihi9'") && msg.contains("loihi1") && msg.contains("loihi2"));
}

#[test]
fn validate_rejects_zero_counts_and_long_delays() {
    let mut chip = ChipProfile::loihi2();
    chip.core.neurons = 0;
    assert!(
        chip.validate()
            .unwrap_err()
            .to_string()
            .contains("core.neurons")
    );
    let mut chip = ChipProfile::loihi2();
    chip.core.max_delay = 63;
    assert!(chip.validate().unwrap_err().to_string().contains("63"));
    let mut chip = ChipProfile::loihi2();
    chip.mesh.cores_per_tile = 0;
    assert!(
        chip.validate()
            .unwrap_err()
            .to_string()
            .contains("mesh.cores_per_tile")
    );
}

#[test]
fn synapse_memory_is_counted_as_nengo_loihi_counts_it() {
    let memory = ChipProfile::loihi1().core.memory;
    // 8-bit weights, no delay, 1024 neurons (10 index bits): 18 bits a synapse.
    let format = SynapseFormat::new(8, 0, 1024);
    assert_eq!(format.entry_bits(), 18);
    // One block of 64: 64 · 18 + 10 = 1162 bits → 19 words of 64 = 1216.
    assert_eq!(memory.run_bits(&format, 64), 1216);
    // A 65th synapse opens a block: 18 + 10 = 28 bits → one word.
    assert_eq!(memory.run_bits(&format, 65), 1216 + 64);
    assert_eq!(memory.run_bits(&format, 1), 64);
    assert_eq!(memory.run_bits(&format, 0), 0);
    // 7-bit mantissas are stored in 8 bits; delays up to 62 take 6 bits;
    // small cores still use 6 index bits.
    assert_eq!(SynapseFormat::new(7, 62, 10).entry_bits(), 8 + 6 + 6);
    assert_eq!(memory.neuron_bits(1024), 0);
}

#[test]
fn shared_memory_charges_neurons_and_runs() {
    let memory = ChipProfile::loihi2().core.memory;
    // 8 weight + 6 delay + 13 index (8192 neurons) = 27 bits.
    let format = SynapseFormat::new(8, 62, 8192);
    assert_eq!(format.entry_bits(), 27);
    // 10 · 27 + 32 = 302 → ten 32-bit words.
    assert_eq!(memory.run_bits(&format, 10), 320);
    assert_eq!(memory.neuron_bits(100), 100 * 12 * 8);
}

#[test]
fn locations_and_routes_follow_tiles_and_chips() {
    let mut chip = ChipProfile::loihi1();
    chip.chips = ChipGrid { x: 2, y: 2 };
    assert_eq!(chip.total_cores(), 512);
    // Core 5: chip 0, tile 1 (x 1, y 0), slot 1.
    assert_eq!(
        chip.location(5),
        CoreLocation {
            chip: 0,
            tile_x: 1,
            tile_y: 0,
            slot: 1
        }
    );
    // Same tile: no hops.
    assert_eq!(chip.route(4, 7), Route::default());
    // Tile (0,0) to tile (7,3) of chip 0: 7 east–west, 3 north–south.
    let far = 31 * 4;
    assert_eq!(
        chip.route(0, far),
        Route {
            east_west: 7,
            north_south: 3,
            chip_links: 0
        }
    );
    // Chip 0 tile (7,0) to chip 1 tile (0,0): one hop, one chip link.
    let next_chip = 128;
    assert_eq!(
        chip.route(7 * 4, next_chip),
        Route {
            east_west: 1,
            north_south: 0,
            chip_links: 1
        }
    );
    // Chip 0 to chip 3 (diagonal): links in both directions.
    let diagonal = chip.route(0, 3 * 128);
    assert_eq!(
        (
            diagonal.east_west,
            diagonal.north_south,
            diagonal.chip_links
        ),
        (8, 4, 2)
    );
}

#[test]
fn profiles_round_trip_through_toml_and_files() {
    for chip in [
        ChipProfile::loihi1(),
        ChipProfile::loihi2(),
        ChipProfile::loihi1_sanafe(),
    ] {
        assert_eq!(ChipProfile::from_toml(&chip.to_toml()), Ok(chip));
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("board.toml");
    let mut chip = ChipProfile::loihi2();
    chip.name = "board".to_string();
    chip.chips = ChipGrid { x: 4, y: 2 };
    std::fs::write(&path, chip.to_toml()).expect("write");
    let loaded = ChipProfile::from_name_or_file(path.to_str().expect("utf-8")).expect("loads");
    assert_eq!(loaded, chip);
    assert_eq!(loaded.total_cores(), 1024);
}

#[test]
fn bad_profile_files_name_the_problem() {
    let err = ChipProfile::from_name_or_file("/no/such/chip.toml").unwrap_err();
    assert!(
        err.to_string()
            .starts_with("chip profile /no/such/chip.toml: "),
        "{err}"
    );
    let text = ChipProfile::loihi1()
        .to_toml()
        .replace("[mesh]", "bogus = 1\n[mesh]");
    let err = ChipProfile::from_toml(&text).unwrap_err();
    assert!(err.to_string().contains("unknown field `bogus`"), "{err}");
    let text = ChipProfile::loihi1()
        .to_toml()
        .replace("neurons = 1024", "neurons = 0");
    assert_eq!(
        ChipProfile::from_toml(&text).unwrap_err().to_string(),
        "chip profile 'loihi1': core.neurons must be at least 1"
    );
    let text = ChipProfile::loihi1()
        .to_toml()
        .replace("kind = \"synapses\"", "kind = \"magic\"");
    assert!(ChipProfile::from_toml(&text).is_err());
}

#[test]
fn barrier_costs_interpolate_or_step() {
    let loihi1 = Costs::loihi1();
    assert_eq!(loihi1.barrier_cost(1).time_ns, 113.0);
    assert_eq!(loihi1.barrier_cost(32).time_ns, 465.0);
    assert_eq!(loihi1.barrier_cost(64).time_ns, 465.0);
    // Halfway in tiles, halfway in time: 113 + 15/31 · 352.
    let mid = loihi1.barrier_cost(16).time_ns;
    assert!((mid - (113.0 + 15.0 / 31.0 * 352.0)).abs() < 1e-9, "{mid}");
    let sanafe = Costs::loihi1_sanafe();
    let times: Vec<f64> = [1, 2, 3, 4, 28, 29, 500]
        .iter()
        .map(|&t| sanafe.barrier_cost(t).time_ns)
        .collect();
    assert_eq!(
        times,
        vec![600.0, 1000.0, 1000.0, 1400.0, 1400.0, 1800.0, 1800.0]
    );
}

#[test]
fn cost_tables_follow_their_sources() {
    let loihi1 = ChipProfile::loihi1().costs;
    // Active update = inactive + active extra: 81 pJ / 8.4 ns.
    let active = loihi1.neuron_update.energy_pj + loihi1.neuron_active.energy_pj;
    assert_eq!(active, 81.0);
    assert!((loihi1.neuron_update.time_ns + loihi1.neuron_active.time_ns - 8.4).abs() < 1e-12);
    assert_eq!(loihi1.synaptic_op.energy_pj, 23.6);
    assert_eq!(loihi1.static_power_mw, 104.0);
    let sanafe = ChipProfile::builtin("loihi1-sanafe").expect("builtin");
    assert_eq!(sanafe.core, ChipProfile::loihi1().core);
    assert_eq!(sanafe.costs.message_out.energy_pj, 111.0);
    assert_eq!(sanafe.costs.static_power_mw, 0.0);
    assert!(ChipProfile::loihi2().costs.estimated);
    let mut bad = ChipProfile::loihi1();
    bad.costs.synaptic_op.energy_pj = -1.0;
    assert!(
        bad.validate()
            .unwrap_err()
            .to_string()
            .contains("costs synaptic_op")
    );
}

#[test]
fn huge_systems_are_refused_not_overflowed() {
    let mut chip = ChipProfile::loihi2();
    chip.mesh.tiles_x = 100_000;
    chip.mesh.tiles_y = 100_000;
    let err = chip.validate().unwrap_err().to_string();
    assert!(err.contains("at most 4194304"), "{err}");
    chip.mesh.tiles_x = u32::MAX;
    chip.mesh.tiles_y = u32::MAX;
    chip.mesh.cores_per_tile = u32::MAX;
    chip.chips = ChipGrid {
        x: u32::MAX,
        y: u32::MAX,
    };
    assert!(chip.validate().is_err());
    let mut chip = ChipProfile::loihi2();
    chip.core.max_weight_bits = 9;
    assert!(
        chip.validate()
            .unwrap_err()
            .to_string()
            .contains("max_weight_bits 9")
    );
}
