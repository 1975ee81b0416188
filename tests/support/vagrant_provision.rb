# What Vagrant's own salt provisioner does on a box, without a VM: loads the Vagrantfile in
# ARGV[0], runs VagrantPlugins::Salt::Provisioner#provision for machine ARGV[1] against a
# recording communicator, and prints its remote actions in order as JSON lines:
#   {"test": cmd} / {"upload": [local, remote]} / {"sudo": cmd}
# ARGV[2] "installed" makes `which salt-minion` succeed (a re-provision: configure only).
require "json"
require "vagrant"

root, name, state = ARGV

class Recorder
  def initialize(installed)
    @installed = installed
  end

  def test(cmd)
    puts({ "test" => cmd }.to_json)
    @installed
  end

  def upload(local, remote)
    puts({ "upload" => [local, remote] }.to_json)
  end

  def sudo(cmd, _opts = {})
    puts({ "sudo" => cmd }.to_json)
    0 # the exit status the real communicator returns on success
  end
end

env = Vagrant::Environment.new(cwd: root, ui_class: Vagrant::UI::Silent)
config = env.vagrantfile.machine_config(name.to_sym, nil, nil, nil, false)[:config]
salt = config.vm.provisioners.find { |p| p.type == :salt } or abort("#{name}: no salt provisioner")
Box = Struct.new(:env, :config, :communicate)
box = Box.new(env, config, Recorder.new(state == "installed"))
VagrantPlugins::Salt::Provisioner.new(box, salt.config).provision
