# hive's evaluator: turns a Colmena hive (raw `colmena` / hive.nix value, or an evaluated
# `colmenaHive`) into the queries hive runs. It is applied with `nix eval --apply`, so it must
# not import files: a flake stays pure unless the user asks for --impure.
#
#   (import evaluator.nix) { hermetic; schema; deploymentOptions; kind; } value  ->  { info; tags; nodes; eval; introspect; }
#
# `deploymentOptions` is the module in deployment-options.nix (passed in, as nothing is imported);
# `kind` says what `value` is: "hive" (a `colmena` output or a hive.nix: raw, or an evaluated
# `colmenaHive`) or "nixosConfigurations" (a flake's, each configuration a node, used as it is).
#
# Every query returns JSON-safe data. Key contents never leave Nix through these queries.
{ hermetic, schema, deploymentOptions, kind ? "hive" }:
value:
with builtins;
let
  reservedNames = [ "defaults" "network" "meta" ];
  isNixos = kind == "nixosConfigurations";
  isEvaluated = !isNixos && isAttrs value && value ? __schema;

  # --- raw hives -----------------------------------------------------------------------------
  rawHive =
    if isFunction value || (isAttrs value && value ? __functor) then value { }
    else if isAttrs value then value
    else throw "The hive must evaluate to an attribute set (or a function returning one), not a ${typeOf value}.";

  userMeta =
    if rawHive ? meta && rawHive ? network then
      throw "Only one of `network` and `meta` may be specified. `meta` should be used as `network` is for NixOps compatibility."
    else rawHive.meta or rawHive.network or { };

  uninitialized = what: configName: ''
    Passing ${what} as ${configName} is not accepted with flakes. Initialise Nixpkgs instead:

      colmena = {
        ${configName} = import nixpkgs {
          system = "x86_64-linux"; # the system of your nodes
          overlays = [ ];
        };
      };
  '';

  mkNixpkgs = configName: conf:
    if typeOf conf == "path" || (isAttrs conf && conf ? outPath && !(conf ? lib)) then
      (if hermetic then throw (uninitialized "a path to Nixpkgs" configName) else mkNixpkgs configName (import conf))
    else if isFunction conf then
      (if hermetic then throw (uninitialized "a Nixpkgs function" configName) else conf { overlays = [ ]; })
    else if isAttrs conf then
      (if conf ? outputs then throw (uninitialized "an uninitialised Nixpkgs flake input" configName)
      else if !(conf ? lib && conf ? path) then throw "${configName} is an attribute set but not a Nixpkgs package set (it has no `lib` and `path`)."
      else conf)
    else throw ''
      ${configName} must be one of:
      - a path to Nixpkgs (e.g. <nixpkgs>) (not with flakes)
      - a Nixpkgs function (e.g. import <nixpkgs>) (not with flakes)
      - an initialised Nixpkgs package set (e.g. import nixpkgs { system = "x86_64-linux"; })
    '';

  nixpkgs =
    if userMeta ? nixpkgs && userMeta.nixpkgs != null then mkNixpkgs "meta.nixpkgs" userMeta.nixpkgs
    else if hermetic then throw "meta.nixpkgs must be set when the hive is a flake: set `meta.nixpkgs = import nixpkgs { system = \"...\"; };`."
    else
      let fromSearchPath = tryEval <nixpkgs>; in
      if fromSearchPath.success then mkNixpkgs "meta.nixpkgs" fromSearchPath.value
      else throw "meta.nixpkgs is not set and <nixpkgs> is not in the Nix search path: set meta.nixpkgs in the hive (e.g. `meta.nixpkgs = import ./nixpkgs { system = \"x86_64-linux\"; };`) or add nixpkgs to NIX_PATH.";

  # An evaluated hive brings its own lib; a raw one is evaluated with its nixpkgs' lib;
  # nixosConfigurations bring theirs (each configuration's pkgs).
  nixosNames = attrNames value;
  anyNixos =
    if nixosNames == [ ] then throw "the flake's nixosConfigurations is empty: there is nothing to deploy"
    else value.${head nixosNames};
  lib = if isNixos then anyNixos.pkgs.lib else if isEvaluated then value.introspect ({ lib, ... }: lib) else nixpkgs.lib;
  # A configuration that does not import the deployment options gets their defaults, its name as target.
  nixosDeployment = name:
    let c = value.${name}.config; in
    if c ? deployment then c.deployment
    else (lib.evalModules { modules = [ deploymentOptions { config._module.check = false; } ]; specialArgs = { inherit name; }; }).config.deployment;

  metaOptions = { lib, ... }: let inherit (lib) mkOption types; in {
    options = {
      name = mkOption { type = types.str; default = "hive"; };
      description = mkOption { type = types.str; default = "A Colmena Hive"; };
      nixpkgs = mkOption { type = types.unspecified; default = null; };
      nodeNixpkgs = mkOption { type = types.attrsOf types.unspecified; default = { }; };
      specialArgs = mkOption { type = types.attrsOf types.unspecified; default = { }; };
      nodeSpecialArgs = mkOption { type = types.attrsOf types.unspecified; default = { }; };
      machinesFile = mkOption { type = types.nullOr types.path; default = null; apply = v: if v == null then null else toString v; };
      allowApplyAll = mkOption { type = types.bool; default = true; };
      # hive extension: the rollout policy apply uses unless the command line says otherwise.
      rollout = mkOption {
        default = { };
        type = types.submodule ({ ... }: {
          options = {
            canary = mkOption { type = types.nullOr (types.either types.int types.str); default = null; };
            waves = mkOption { type = types.nullOr (types.either types.int types.str); default = null; };
            maxFailures = mkOption { type = types.nullOr (types.either types.int types.str); default = null; };
            soak = mkOption { type = types.nullOr (types.either types.int types.str); default = null; };
            rollbackOnHalt = mkOption { type = types.bool; default = false; };
          };
        });
      };
      # hive extension: push through the operator's binary cache (--via-cache and its companions).
      viaCache = mkOption {
        default = null;
        type = types.nullOr (types.submodule ({ ... }: {
          options = {
            url = mkOption { type = types.str; };
            publicKey = mkOption { type = types.nullOr types.str; default = null; };
            substituter = mkOption { type = types.nullOr types.str; default = null; };
          };
        }));
      };
    };
  };

  meta = (lib.evalModules { modules = [ metaOptions userMeta ]; prefix = [ "meta" ]; }).config;

  keySources = key: filter (s: key.${s} != null) [ "text" "keyFile" "keyCommand" ];
  keyProblems = deployment: lib.concatMap (keyName:
    let sources = keySources deployment.keys.${keyName}; in
    lib.optional (length sources != 1)
      "deployment.keys.${lib.showOption [ keyName ]} must set exactly one of `text', `keyFile' and `keyCommand'${if sources == [ ] then " (it sets none)" else " (it sets ${lib.concatStringsSep ", " sources})"}")
    (attrNames deployment.keys);

  assertionModule = { config, name, ... }: {
    assertions = map (message: { assertion = false; message = "node `${name}': ${message}"; }) (keyProblems config.deployment);
  };

  configsFor = name: let c = rawHive.${name}; in if isList c then c else [ c ];

  evalNode = name: configs:
    let
      npkgs = if meta.nodeNixpkgs ? ${name} then mkNixpkgs "meta.nodeNixpkgs.${name}" meta.nodeNixpkgs.${name} else nixpkgs;
      nixpkgsModule = { lib, ... }: {
        nixpkgs.overlays = lib.mkBefore (npkgs.overlays or [ ]);
        nixpkgs.config = lib.mkBefore (npkgs.config or { });
      };
    in
    import (npkgs.path + "/nixos/lib/eval-config.nix") {
      inherit (npkgs) system;
      modules = [ nixpkgsModule assertionModule deploymentOptions (rawHive.defaults or { }) ] ++ configs;
      specialArgs = { inherit name; nodes = uncheckedNodes; } // meta.specialArgs // (meta.nodeSpecialArgs.${name} or { });
    };

  rawNodeNames = filter (n: !(elem n reservedNames)) (attrNames rawHive);
  uncheckedNodes = lib.genAttrs rawNodeNames (name: evalNode name ([ { _module.check = false; } ] ++ configsFor name));
  rawNodes = lib.genAttrs rawNodeNames (name: evalNode name (configsFor name));

  # --- the evaluated hive, either way ------------------------------------------------------------
  hive =
    if isNixos then {
      nodeNames = nixosNames;
      meta = { };
      deployment = nixosDeployment;
      # Already evaluated by nixosSystem: used as it is, never evaluated again.
      toplevel = name: value.${name}.config.system.build.toplevel;
      introspect = f: f { inherit lib; pkgs = anyNixos.pkgs; nodes = value; };
    } else if isEvaluated then {
      nodeNames = attrNames value.nodes;
      meta = value.metaConfig or { };
      deployment = name: value.nodes.${name}.config.deployment;
      toplevel = name: value.toplevel.${name} or value.nodes.${name}.config.system.build.toplevel;
      inherit (value) introspect;
    } else {
      nodeNames = rawNodeNames;
      meta = meta;
      deployment = name: rawNodes.${name}.config.deployment;
      toplevel = name: rawNodes.${name}.config.system.build.toplevel;
      introspect = f: f { inherit lib; pkgs = nixpkgs; nodes = uncheckedNodes; };
    };

  keyJson = key: {
    inherit (key) name destDir path user group permissions uploadAt;
    source =
      if key.text != null then { kind = "text"; }
      else if key.keyFile != null then { kind = "file"; path = key.keyFile; }
      else { kind = "command"; argv = key.keyCommand; };
  };

  deploymentJson = name:
    let
      d = hive.deployment name;
      problems = keyProblems d;
    in
    if problems != [ ] then throw "${lib.concatStringsSep "; " problems}."
    else {
      inherit (d) targetHost targetPort targetUser allowLocalDeployment buildOnTarget tags
        replaceUnknownProfiles privilegeEscalationCommand;
      sshOptions = d.sshOptions or [ ];
      magicRollback = d.magicRollback or true;
      interactiveSudo = d.interactiveSudo or false;
      checkFailedUnits = d.checkFailedUnits or true;
      sshTransport = d.sshTransport or "auto";
      fanOut = if (d.fanOut or null) == null then null else { inherit (d.fanOut) address port group; };
      healthChecks = map (c: { inherit (c) name cmd http from status body timeout retries interval initialDelay; })
        (d.healthChecks or [ ]);
      keys = mapAttrs (_: keyJson) d.keys;
      explicit = explicitFields name;
    };

  # Which deployment options a node sets itself (above their defaults): an inventory (hive.yaml)
  # fills in only the others. nixpkgs' module system reports `highestPrio`; 1500 is a default's.
  inventoryFields = [ "targetHost" "targetPort" "targetUser" "allowLocalDeployment" "buildOnTarget" "tags"
    "replaceUnknownProfiles" "privilegeEscalationCommand" "sshOptions" "magicRollback" "interactiveSudo"
    "checkFailedUnits" "healthChecks" "sshTransport" "fanOut" ];
  deploymentOptionsOf = name:
    if isNixos then value.${name}.options.deployment or { }
    else if isEvaluated then value.nodes.${name}.options.deployment or { }
    else rawNodes.${name}.options.deployment;
  setByNode = opt:
    if opt ? highestPrio then opt.highestPrio < 1500
    else lib.any (f: !(elem f (opt.declarations or [ ]))) (opt.files or [ ]);
  explicitFields = name: let o = deploymentOptionsOf name; in filter (f: o ? ${f} && setByNode o.${f}) inventoryFields;

  checkNames = names: map (n: if elem n hive.nodeNames then n else throw "hive has no node named `${n}'") names;
in
{
  # Cheap: meta and node names only.
  info = {
    inherit schema;
    source = if isNixos then "nixosConfigurations" else if isEvaluated then "colmenaHive" else "hive";
    nodes = hive.nodeNames;
    meta = {
      name = hive.meta.name or "hive";
      description = hive.meta.description or "";
      machinesFile = hive.meta.machinesFile or null;
      allowApplyAll = hive.meta.allowApplyAll or true;
      rollout =
        let r = hive.meta.rollout or { }; str = v: if v == null then null else toString v; in {
          canary = str (r.canary or null);
          waves = str (r.waves or null);
          maxFailures = str (r.maxFailures or null);
          soak = str (r.soak or null);
          rollbackOnHalt = r.rollbackOnHalt or false;
        };
      viaCache =
        let c = hive.meta.viaCache or null; in
        if c == null then null else { inherit (c) url; publicKey = c.publicKey or null; substituter = c.substituter or null; };
    };
  };
  # Per node, only what selecting by tag needs.
  tags = names: listToAttrs (map (name: { inherit name; value = {
    inherit ((hive.deployment name)) tags;
    explicit = elem "tags" (explicitFields name);
  }; }) (checkNames names));
  nodes = names: listToAttrs (map (name: { inherit name; value = deploymentJson name; }) (checkNames names));
  # Deployment config, the system's derivation and its output path, together for each node.
  eval = names: listToAttrs (map (name: {
    inherit name;
    value = let toplevel = hive.toplevel name; in {
      deployment = deploymentJson name;
      inherit (toplevel) drvPath;
      # Not "outPath": toJSON would turn the whole record into that string.
      system = toplevel.outPath;
      # Where it can be built: the derivation's own system (a cross-compiled system is this machine's).
      buildSystem = toplevel.system;
    };
  }) (checkNames names));
  # The contents of a node's text keys: asked for only when they are uploaded, never printed.
  keyTexts = name: lib.mapAttrs (_: k: k.text) (lib.filterAttrs (_: k: k.text != null) (hive.deployment (head (checkNames [ name ]))).keys);
  introspect = f: hive.introspect f;
  instantiate = names: map hive.toplevel (checkNames names);
}
