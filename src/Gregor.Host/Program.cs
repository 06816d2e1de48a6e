Console.WriteLine("gregor");
