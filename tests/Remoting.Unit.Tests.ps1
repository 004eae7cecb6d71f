# Remoting without a network: every class a cmdlet can write (and every class those hold) has a serialization depth;
# host names as Invoke-Command -HostName takes them; a finding rebuilt from what remoting delivers keeps its verdict,
# its evidence and its repair records (bound to the host that made them); a host that cannot be diagnosed is a finding.
BeforeAll {
    $modulePath = if ($env:MPTCPTOOLS_MODULE) { $env:MPTCPTOOLS_MODULE } else { "$PSScriptRoot/../output/MptcpTools" }
    $module = Import-Module $modulePath -Force -PassThru
}

Describe 'Serialization depth' {
    It 'is set for every class of the module a cmdlet writes, and every class reachable from those' {
        $seen = [Collections.Generic.HashSet[type]]::new()
        $queue = [Collections.Generic.Queue[type]]::new()
        foreach ($cmd in Get-Command -Module MptcpTools) { foreach ($t in $cmd.OutputType.Type) { if ($t) { $queue.Enqueue($t) } } }
        $missing = [Collections.Generic.List[string]]::new()
        while ($queue.Count) {
            $t = $queue.Dequeue()
            if ($t.IsArray) { $queue.Enqueue($t.GetElementType()); continue }
            if ($t.IsGenericType) { foreach ($a in $t.GetGenericArguments()) { $queue.Enqueue($a) }; continue }
            if (-not $t.IsClass -or $t.Namespace -notlike 'MptcpTools.*' -or -not $seen.Add($t)) { continue }
            if (-not (Get-TypeData -TypeName $t.FullName).SerializationDepth) { $missing.Add($t.FullName) }
            foreach ($p in $t.GetProperties()) { $queue.Enqueue($p.PropertyType) }
            # Derived classes reach the wire where their base is declared (repair records, options).
            foreach ($d in $module.ImplementingAssembly.GetExportedTypes() | Where-Object { $_.IsSubclassOf($t) }) { $queue.Enqueue($d) }
        }
        $seen.Count | Should -BeGreaterThan 40
        $missing | Should -BeNullOrEmpty
    }
}

Describe 'Host names as Invoke-Command -HostName takes them' {
    It 'parses <Name>' -ForEach @(
        @{ Name = 'web1'; User = $null; HostName = 'web1'; Port = 0 }
        @{ Name = 'admin@web1'; User = 'admin'; HostName = 'web1'; Port = 0 }
        @{ Name = 'web1:2222'; User = $null; HostName = 'web1'; Port = 2222 }
        @{ Name = 'admin@203.0.113.2:2222'; User = 'admin'; HostName = '203.0.113.2'; Port = 2222 }
        @{ Name = '2001:db8::2'; User = $null; HostName = '2001:db8::2'; Port = 0 }
        @{ Name = 'root@[2001:db8::2]:22'; User = 'root'; HostName = '2001:db8::2'; Port = 22 }
    ) {
        $t = [MptcpTools.Remoting.SshTarget]::Parse($Name, $null)
        $t.UserName | Should -Be $User
        $t.HostName | Should -Be $HostName
        $t.Port | Should -Be $Port
        $t.Name | Should -Be $Name
    }

    It 'takes -UserName where the name has none, and the name''s own user first' {
        [MptcpTools.Remoting.SshTarget]::Parse('web1', 'ops').UserName | Should -Be 'ops'
        [MptcpTools.Remoting.SshTarget]::Parse('root@web1', 'ops').UserName | Should -Be 'root'
    }

    It 'refuses <Name>' -ForEach @(@{ Name = '' }, @{ Name = 'web1:99999' }, @{ Name = 'web1:x' }, @{ Name = '@web1' }, @{ Name = 'user@' }) {
        $thrown = try { [MptcpTools.Remoting.SshTarget]::Parse($Name, $null); $null } catch { $_.Exception.InnerException }
        $thrown | Should -BeOfType ([ArgumentException])
    }

    It 'makes an SSH connection of this PowerShell, with the key, port, options and the powershell subsystem' {
        $info = [MptcpTools.Remoting.SshTarget]::Parse('admin@web1:2222', $null).ConnectionInfo('/k', @{ StrictHostKeyChecking = 'yes' }, [timespan]::FromSeconds(7))
        $info.GetType().Name | Should -Be 'SSHConnectionInfo'
        $info.UserName | Should -Be 'admin'
        $info.ComputerName | Should -Be 'web1'
        $info.Port | Should -Be 2222
        $info.KeyFilePath | Should -Be '/k'
        $info.Subsystem | Should -Be 'powershell'
        $info.ConnectingTimeout | Should -Be 7000
    }
}

Describe 'A finding rebuilt from what remoting delivers' {
    BeforeAll {
        $host1 = [MptcpTools.Kernel.HostIdentity]@{ HostName = 'server'; MachineId = 'abc'; NetworkNamespace = 4026531840 }
        $sysctls = [Collections.Generic.Dictionary[string, string]]::new()
        $sysctls['net.mptcp.enabled'] = '1'; $sysctls['net.mptcp.pm_type'] = '0'
        $facts = [MptcpTools.Diagnosis.HostFacts]@{
            Host = $host1
            Kernel = [MptcpTools.Kernel.MptcpKernelState]::Create('6.18.0', $true, $null, $sysctls,
                [MptcpTools.Kernel.MptcpLimit]::new(0, 2), 0, [MptcpTools.Kernel.PersistentSysctlSetting[]]@(), [string[]]@())
            Endpoints = [MptcpTools.Kernel.MptcpEndpoint[]]@([MptcpTools.Kernel.MptcpEndpoint]::new(1, [ipaddress]'198.51.100.2', 0, 1, 3, 'eth1'))
        }
        $original = [MptcpTools.Diagnosis.DiagnosisRules]::Evaluate($facts) | Where-Object Id -eq 'SubflowLimitZero'
        $file = Join-Path $TestDrive 'f.xml'
        $original | Export-Clixml $file
        $bag = Import-Clixml $file
        $rebuilt = [MptcpTools.Remoting.RemoteDiagnosis]::Rebuild($bag, 'web1')
    }

    It 'is a finding about the host it came from, with the same verdict' {
        $rebuilt | Should -BeOfType ([MptcpTools.Diagnosis.MptcpFinding])
        $rebuilt.ComputerName | Should -Be 'web1'
        foreach ($p in 'Id', 'Summary', 'Detail', 'Remediation') { $rebuilt.$p | Should -Be $original.$p }
        "$($rebuilt.Severity)" | Should -Be "$($original.Severity)"
        "$($rebuilt.Component)" | Should -Be "$($original.Component)"
        $rebuilt.Evidence.Count | Should -Be $original.Evidence.Count
        $rebuilt.Evidence[0].Subflows | Should -Be 0
    }

    It 'keeps its repair records, bound to the host whose facts made them' {
        $original.Repair[0].HostId | Should -Be 'abc/4026531840'
        $rebuilt.Repair.Count | Should -Be 1
        $rebuilt.Repair[0] | Should -BeOfType ([MptcpTools.Diagnosis.LimitRepair])
        $rebuilt.Repair[0].HostId | Should -Be 'abc/4026531840'
        $rebuilt.Repair[0].HostName | Should -Be 'server'
        $rebuilt.Repair[0].Command | Should -Be $original.Repair[0].Command
    }

    It 'is refused by Repair-MptcpConfiguration here, which is another host' {
        $rebuilt | Repair-MptcpConfiguration -WhatIf -ErrorVariable e -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $e[0].FullyQualifiedErrorId | Should -BeLike 'RepairWrongHost,*'
        "$($e[0].CategoryInfo.Category)" | Should -Be 'InvalidOperation'
        $e[0].TargetObject | Should -Be $rebuilt.Repair[0]
    }
}

Describe 'A host that cannot be diagnosed' {
    It 'is HostUnreachable about that host, with how to check SSH' {
        $f = [MptcpTools.Diagnosis.DiagnosisRules]::JudgeRemote([MptcpTools.Diagnosis.RemoteHostFailure]@{ ComputerName = 'web1'; Problem = 'Unreachable'; Reason = 'Connection refused'; Transport = 'SSH'; UserName = 'ops' })
        $f.Id | Should -Be 'HostUnreachable'
        "$($f.Severity)" | Should -Be 'Error'
        "$($f.Component)" | Should -Be 'Remoting'
        $f.ComputerName | Should -Be 'web1'
        $f.Detail | Should -Be 'Connection refused'
        $f.Remediation | Should -Match 'ssh ops@web1'
        $f.Evidence[0].Reason | Should -Be 'Connection refused'
    }

    It 'is ModuleMissingOnHost when the module cannot be imported, with its module path and how to install it' {
        $f = [MptcpTools.Diagnosis.DiagnosisRules]::JudgeRemote([MptcpTools.Diagnosis.RemoteHostFailure]@{ ComputerName = 'web2'; Problem = 'ModuleMissing'; Reason = 'not found'; Transport = 'SSH'; ModulePath = '/usr/local/share/powershell/Modules' })
        $f.Id | Should -Be 'ModuleMissingOnHost'
        $f.ComputerName | Should -Be 'web2'
        $f.Detail | Should -Match '/usr/local/share/powershell/Modules'
        $f.Remediation | Should -Match 'Install-PSResource'
    }
}

Describe 'A host name that cannot work never reaches ssh' {
    It 'is HostUnreachable, saying why, for a name that does not resolve, a wildcard, a lone bracket, and one that would be an ssh option' {
        $marker = Join-Path $TestDrive 'proxy-command-ran'
        # '[' resolved as the empty name (this host's own addresses) and reached pwsh's SSH transport, which ended the process.
        $names = 'no-such-host.invalid', '*', '[', '[x', "-oProxyCommand=touch $marker"
        $f = @(Invoke-MptcpDiagnosis -HostName $names -ErrorVariable e)
        $e | Should -BeNullOrEmpty
        $f.Count | Should -Be 5
        @($f | Where-Object Id -ne 'HostUnreachable') | Should -BeNullOrEmpty
        @($f.ComputerName | Sort-Object) | Should -Be @($names | Sort-Object)
        ($f | Where-Object ComputerName -eq 'no-such-host.invalid').Detail | Should -Match "'no-such-host.invalid' does not resolve"
        ($f | Where-Object ComputerName -eq '*').Detail | Should -Match "'\*' is not a host name or an address"
        ($f | Where-Object ComputerName -eq '[').Detail | Should -Match "'\[' is not a host name or an address"
        ($f | Where-Object ComputerName -eq '[x').Detail | Should -Match "'\[x' is not a host name or an address"
        ($f | Where-Object ComputerName -like '-o*').Detail | Should -Match 'ssh cannot use the name'
        Test-Path $marker | Should -BeFalse -Because 'a host name is never an option of ssh'
    }

    It 'is HostUnreachable for a user name ssh refuses, given in the name or with -UserName' {
        # ssh refuses the user before it resolves anything: the .invalid name is never looked up.
        $f = @(Invoke-MptcpDiagnosis -HostName "a'b@no-such-host.invalid" -ErrorVariable e) + @(Invoke-MptcpDiagnosis -HostName no-such-host.invalid -UserName "x;y" -ErrorVariable +e)
        $e | Should -BeNullOrEmpty
        $f.Id | Should -Be 'HostUnreachable', 'HostUnreachable'
        $f[0].Detail | Should -Match "ssh cannot use the name 'no-such-host.invalid' with the user 'a'b'.*invalid characters"
        $f[1].Detail | Should -Match "with the user 'x;y'.*invalid characters"
    }

    It 'is HostUnreachable for a user, key path or option with a space, which pwsh would hand ssh cut in two' {
        $f = @(Invoke-MptcpDiagnosis -HostName 'b@no-such-host.invalid' -UserName 'a b' -ErrorVariable e) +
            @(Invoke-MptcpDiagnosis -HostName no-such-host.invalid -UserName 'a b' -ErrorVariable +e) +
            @(Invoke-MptcpDiagnosis -HostName no-such-host.invalid -KeyFilePath '/tmp/my key' -ErrorVariable +e) +
            @(Invoke-MptcpDiagnosis -HostName no-such-host.invalid -Options @{ ProxyCommand = 'ssh -W %h:%p jump' } -ErrorVariable +e)
        $e | Should -BeNullOrEmpty
        $f.Id | Should -Be 'HostUnreachable', 'HostUnreachable', 'HostUnreachable', 'HostUnreachable'
        $f[0].Detail | Should -Match "'no-such-host.invalid' does not resolve" -Because 'the user in the name is taken first, and has no space'
        $f[1].Detail | Should -Match "the user 'a b' has a space.*split at spaces"
        $f[2].Detail | Should -Match "the key file path '/tmp/my key' has a space"
        $f[3].Detail | Should -Match "the ssh option 'ProxyCommand=ssh -W %h:%p jump' has a space"
    }

    It 'takes DOMAIN\user as pwsh does, user@DOMAIN' {
        $f = @(Invoke-MptcpDiagnosis -HostName no-such-host.invalid -UserName 'CORP\a;b')
        $f[0].Detail | Should -Match "with the user 'a;b@CORP'"
    }
}
