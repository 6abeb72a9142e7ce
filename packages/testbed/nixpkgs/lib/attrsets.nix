lib:
let
  inherit (builtins) attrNames listToAttrs head tail isAttrs foldl' length;
in
{
  inherit (builtins) attrNames attrValues getAttr hasAttr listToAttrs mapAttrs removeAttrs
    catAttrs intersectAttrs zipAttrsWith;
  nameValuePair = name: value: { inherit name value; };
  attrByPath = path: default: set:
    if path == [ ] then set
    else if isAttrs set && set ? ${head path} then lib.attrByPath (tail path) default set.${head path}
    else default;
  hasAttrByPath = path: set:
    path == [ ] || (isAttrs set && set ? ${head path} && lib.hasAttrByPath (tail path) set.${head path});
  getAttrFromPath = path: set:
    lib.attrByPath path (throw "cannot find attribute `${lib.concatStringsSep "." path}'") set;
  setAttrByPath = path: value: lib.foldr (name: acc: { ${name} = acc; }) value path;
  filterAttrs = pred: set:
    listToAttrs (lib.concatMap (name: let v = set.${name}; in if pred name v then [ (lib.nameValuePair name v) ] else [ ]) (attrNames set));
  mapAttrs' = f: set: listToAttrs (map (name: f name set.${name}) (attrNames set));
  mapAttrsToList = f: set: map (name: f name set.${name}) (attrNames set);
  attrsToList = set: lib.mapAttrsToList lib.nameValuePair set;
  concatMapAttrs = f: set: foldl' (a: b: a // b) { } (lib.mapAttrsToList f set);
  genAttrs = names: f: listToAttrs (map (n: lib.nameValuePair n (f n)) names);
  optionalAttrs = cond: set: if cond then set else { };
  attrVals = names: set: map (n: set.${n}) names;
  zipAttrs = builtins.zipAttrsWith (_: values: values);
  mergeAttrs = a: b: a // b;
  foldAttrs = op: nul: list:
    foldl' (acc: set: acc // builtins.mapAttrs (n: v: op v (acc.${n} or nul)) set) { } (lib.reverseList list);
  recursiveUpdateUntil = pred: lhs: rhs:
    let
      f = attrPath: builtins.zipAttrsWith (n: values:
        let here = attrPath ++ [ n ]; in
        if length values == 1 || pred here (head (tail values)) (head values)
        then head values
        else f here values);
    in
    f [ ] [ rhs lhs ];
  recursiveUpdate = lib.recursiveUpdateUntil (_: lhs: rhs: !(isAttrs lhs && isAttrs rhs));
  mapAttrsRecursiveCond = cond: f: set:
    let
      recurse = path: builtins.mapAttrs (name: value:
        if isAttrs value && cond value then recurse (path ++ [ name ]) value else f (path ++ [ name ]) value);
    in
    recurse [ ] set;
  mapAttrsRecursive = lib.mapAttrsRecursiveCond (_: true);
  collect = pred: v:
    if pred v then [ v ]
    else if isAttrs v then lib.concatMap (lib.collect pred) (builtins.attrValues v)
    else [ ];
  isDerivation = v: isAttrs v && (v.type or null) == "derivation";
  recurseIntoAttrs = set: set // { recurseForDerivations = true; };
}
