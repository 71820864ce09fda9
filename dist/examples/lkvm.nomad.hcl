# A Nomad job running one lkvm VM per allocation. Nomad restarts the task
# when lkvm exits with a failure status (2: the guest crashed, 124: its
# --timeout expired), within the restart block's limits, and stops it with
# SIGTERM (lkvm exits 143 after a clean shutdown of its side).
#
# The task driver is exec2 (Nomad's Landlock-based successor of exec,
# a plugin): the classic "exec" driver gives tasks a private /dev without
# /dev/kvm and cannot be told to add it (hashicorp/nomad#5882); with it,
# only raw_exec (no isolation) can run a VMM. exec2 runs the task as a
# dynamic unprivileged user: /dev/kvm must be open to it (mode 0666, the
# systemd default, or a udev rule) and unveiled below.
job "lkvm-web" {
  type = "service"

  group "vm" {
    count = 2

    restart {
      attempts = 3
      interval = "10m"
      delay    = "15s"
      mode     = "fail"
    }

    task "lkvm" {
      driver = "exec2"

      # The kernel and disk image, fetched into the task directory.
      artifact {
        source      = "https://example.org/images/bzImage"
        destination = "local/"
      }
      artifact {
        source      = "https://example.org/images/root.img.gz"
        destination = "local/"
      }

      config {
        command = "/usr/bin/lkvm"
        args = [
          "run", "--name", "${NOMAD_JOB_NAME}-${NOMAD_ALLOC_INDEX}",
          "-k", "${NOMAD_TASK_DIR}/bzImage",
          "-d", "${NOMAD_TASK_DIR}/root.img",
          "-m", "1024", "-c", "2", "--balloon", "--rng",
          "-p", "root=/dev/vda",
        ]
        unveil = ["rw:/dev/kvm", "rx:/usr/bin/lkvm"]
      }

      # lkvm's control socket: $HOME/.lkvm/<name>.sock, inside the task
      # directory (`nomad alloc exec` is not offered by exec2; read the
      # console with `nomad alloc logs`).
      env {
        HOME = "${NOMAD_TASK_DIR}"
      }

      kill_signal  = "SIGTERM"
      kill_timeout = "30s"

      resources {
        cpu    = 2000
        memory = 1200 # guest RAM (1024 MiB) + lkvm's own memory
      }
    }
  }
}
