# An expression for `hive eval hostnames.nix`: each node's host name, from its configuration.
{ nodes, lib, ... }: lib.mapAttrs (_: node: node.config.networking.hostName) nodes
