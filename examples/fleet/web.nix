{ name, pkgs, ... }: {
  deployment.tags = [ "web" ];
  environment.systemPackages = [ pkgs.nginx ];
  services.nginx.virtualHosts.${name}.root = "/srv/www";
}
