lib:
let
  inherit (builtins) length elemAt genList concatLists filter foldl' elem head tail;
in
{
  inherit length elemAt genList concatLists filter foldl' elem head tail;
  inherit (builtins) map sort any all partition groupBy;
  foldr = op: nul: list:
    let len = length list; go = n: if n == len then nul else op (elemAt list n) (go (n + 1)); in go 0;
  foldl = op: nul: list: foldl' op nul list;
  concatMap = f: list: concatLists (map f list);
  flatten = x: if builtins.isList x then lib.concatMap lib.flatten x else [ x ];
  optional = cond: x: if cond then [ x ] else [ ];
  optionals = cond: xs: if cond then xs else [ ];
  toList = x: if builtins.isList x then x else [ x ];
  singleton = x: [ x ];
  forEach = xs: f: map f xs;
  range = first: last: if first > last then [ ] else genList (n: first + n) (last - first + 1);
  imap0 = f: list: genList (n: f n (elemAt list n)) (length list);
  imap1 = f: list: genList (n: f (n + 1) (elemAt list n)) (length list);
  count = pred: foldl' (c: x: if pred x then c + 1 else c) 0;
  unique = foldl' (acc: x: if elem x acc then acc else acc ++ [ x ]) [ ];
  last = list: elemAt list (length list - 1);
  init = list: genList (n: elemAt list n) (length list - 1);
  take = n: lib.sublist 0 n;
  drop = n: list: lib.sublist n (length list) list;
  sublist = start: count: list:
    let
      len = length list;
      n = if start >= len then 0 else if start + count > len then len - start else count;
    in
    genList (i: elemAt list (i + start)) n;
  reverseList = list: let l = length list; in genList (n: elemAt list (l - n - 1)) l;
  remove = x: filter (y: y != x);
  findFirst = pred: default: list: let found = filter pred list; in if found == [ ] then default else head found;
  zipListsWith = f: fst: snd:
    genList (n: f (elemAt fst n) (elemAt snd n)) (lib.min (length fst) (length snd));
  intersectLists = e: filter (x: elem x e);
  subtractLists = e: filter (x: !(elem x e));
  intersperse = sep: list:
    if list == [ ] then [ ] else tail (lib.concatMap (x: [ sep x ]) list);
}
